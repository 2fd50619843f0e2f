"""Deadlines: hours for urgent work orders, working days for ordinary ones, with the official holiday calendar.

A working day is Monday–Friday unless the State Council declared it a holiday, plus the weekend days it
declared working days (调休上班). Calendar data: data/holidays.json (source named inside); an operator
may add later years in <data_dir>/hotline/holidays.json with the same shape. A deadline of N working
days is the end (23:59:59 Asia/Shanghai) of the N-th working day after the day of intake.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_DATA = resources.files("haoban.apps.hotline") / "data"


class HolidayCalendar:
    def __init__(self, data: dict):
        self.holidays: dict[date, str] = {}
        self.workdays: set[date] = set()
        self.years: set[int] = set()
        self.source = data.get("source", "")
        self.add(data)

    def add(self, data: dict) -> None:
        for year, spec in data.get("years", {}).items():
            self.years.add(int(year))
            for start, end, name in spec.get("holidays", []):
                d, last = date.fromisoformat(start), date.fromisoformat(end)
                while d <= last:
                    self.holidays[d] = name
                    d += timedelta(days=1)
            self.workdays.update(date.fromisoformat(d) for d in spec.get("workdays", []))

    @classmethod
    def load(cls, extra: Path | None = None) -> HolidayCalendar:
        cal = cls(_packaged())
        if extra is not None and extra.exists():
            cal.add(json.loads(extra.read_text(encoding="utf-8")))
        return cal

    def covers(self, day: date) -> bool:
        """Whether the official arrangement for this year is known (else only weekends count)."""
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End of the `days`-th working day after the local date of `start`, as an aware UTC datetime."""
        day = _local(start).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        end = datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI)
        return end.astimezone(UTC)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        a, b = _local(start).date(), _local(end).date()
        n = 0
        while a < b:
            a += timedelta(days=1)
            n += self.is_working_day(a)
        return n


@cache
def _packaged() -> dict:
    return json.loads((_DATA / "holidays.json").read_text(encoding="utf-8"))


@cache
def sla_rules() -> dict:
    return json.loads((_DATA / "sla.json").read_text(encoding="utf-8"))


def _local(ts: datetime) -> datetime:
    if ts.tzinfo is None:  # SQLite returns naive datetimes; we only ever store UTC
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(SHANGHAI)


def aware(ts: datetime | None) -> datetime | None:
    """In UTC. Naive values are UTC already (SQLite hands them back that way); others are converted, because
    SQLite keeps the clock time of an aware value and drops its offset (+08:00 would be stored 8 hours off)."""
    return None if ts is None else (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC))


@dataclass
class Deadline:
    due_at: datetime
    rule: str  # human-readable, e.g. "紧急：24 小时" or "投诉：5 个工作日"
    calendar_known: bool


def deadline(calendar: HolidayCalendar, received_at: datetime, request_type: str | None, urgency: str) -> Deadline:
    rules = sla_rules()
    received_at = aware(received_at)  # type: ignore[assignment]
    known = calendar.covers(_local(received_at).date())
    if urgency in rules["by_urgency"]:
        hours = rules["by_urgency"][urgency]["hours"]
        return Deadline(received_at + timedelta(hours=hours), f"{urgency}：{hours} 小时", known)
    spec = rules["by_request_type"].get(request_type or "", rules["default"])
    days = spec["working_days"]
    label = request_type if request_type in rules["by_request_type"] else "默认"
    return Deadline(calendar.add_working_days(received_at, days), f"{label}：{days} 个工作日", known)


def sla_state(due_at: datetime | None, received_at: datetime, now: datetime, status_open: bool) -> str:
    """"overdue", "warning" (less than warn_ratio of the allowed time left), "ok", or "none"."""
    if due_at is None or not status_open:
        return "none"
    due_at, received_at = aware(due_at), aware(received_at)  # type: ignore[assignment]
    if now >= due_at:
        return "overdue"
    total = (due_at - received_at).total_seconds()
    left = (due_at - now).total_seconds()
    return "warning" if total > 0 and left / total < sla_rules()["warn_ratio"] else "ok"

"""考评 statistics per department and the hotspot view (领域 × 地点 × 周), from ticket rows (ORM objects or
rows of the same named columns, as HotlineService.stats selects them)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

from haoban.apps.hotline.lifecycle import OPEN
from haoban.apps.hotline.models import Ticket
from haoban.apps.hotline.schemas import DepartmentStats, Hotspot
from haoban.apps.hotline.sla import SHANGHAI, aware

RESPONDED = {"signed", "processing", "replied", "visited", "closed", "answered"}
FINISHED = {"replied", "visited", "closed", "answered"}


def _rate(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def department_stats(tickets: Iterable[Ticket], now: datetime) -> list[DepartmentStats]:
    groups: dict[str, list[Ticket]] = defaultdict(list)
    for t in tickets:
        if t.department and t.status not in ("merged", "received"):
            groups[t.department].append(t)
    out = []
    for dept, rows in groups.items():
        total = len(rows)
        responded = sum(t.status in RESPONDED for t in rows)
        finished = [t for t in rows if t.status in FINISHED]
        on_time = sum(1 for t in finished if t.due_at is None or aware(t.replied_at or t.closed_at or now) <= aware(t.due_at))
        overdue_open = sum(1 for t in rows if t.status in OPEN and t.due_at is not None and aware(t.due_at) < now)
        rated = [t.satisfaction for t in rows if t.satisfaction]
        sat = _rate(sum(s in ("满意", "基本满意") for s in rated), len(rated)) if rated else None
        reopen = _rate(sum(t.reopen_count > 0 for t in rows), total)
        close_rate, on_time_rate = _rate(len(finished), total), _rate(on_time, len(finished))
        score = 100 * (0.3 * close_rate + 0.3 * on_time_rate + 0.3 * (sat if sat is not None else 1.0) + 0.1 * (1 - reopen))
        out.append(DepartmentStats(
            department=dept, total=total, responded=responded, closed=len(finished), on_time=on_time,
            overdue_open=overdue_open, response_rate=_rate(responded, total), close_rate=close_rate,
            on_time_rate=on_time_rate, satisfaction_rate=sat, reopen_rate=reopen, score=round(score, 1),
        ))
    out.sort(key=lambda d: -d.score)
    return out


def hotspots(tickets: Iterable[Ticket], top: int = 20) -> list[Hotspot]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for t in tickets:
        place = (t.places or [t.location or ""])[0]
        if t.status == "merged" or not place:
            continue
        iso = aware(t.received_at).astimezone(SHANGHAI).isocalendar()  # type: ignore[union-attr]
        counts[(t.domain or "未分类", place, f"{iso.year}-W{iso.week:02d}")] += 1
    return [Hotspot(domain=d, place=p, week=w, count=n) for (d, p, w), n in counts.most_common(top) if n > 1]

"""热线考评统计的速度：按一年的工单量合成数据，测 HotlineService.stats（数据库内分组汇总）的耗时和内存。

工单是合成的（40 个承办部门、6 个领域、30 个地点，一年内均匀分布；约 85% 已办结、10% 在办、5% 已合并），
只为测速度，不涉及任何真实数据。

    .venv/bin/python benchmarks/hotline_stats.py [--tickets 300000]   # 写 benchmarks/results/hotline_stats.json

进度写到 stderr；stdout 最后一行是结果 JSON。
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.hotline.models import Ticket  # noqa: E402
from haoban.apps.hotline.service import HotlineService  # noqa: E402
from haoban.config import Settings  # noqa: E402
from haoban.knowledge.service import KnowledgeService  # noqa: E402

DEPARTMENTS = [f"第{i}承办单位" for i in range(40)]
DOMAINS = ["城建", "交通", "教育", "环保", "就业", "医疗"]
PLACES = [f"{n}街道" for n in "东西南北中"] + [f"第{i}社区" for i in range(25)]
STATUSES = ["closed"] * 60 + ["visited"] * 10 + ["answered"] * 15 + ["processing"] * 5 + ["signed"] * 3 + \
    ["dispatched"] * 2 + ["merged"] * 5  # fmt: skip


def synth(n: int, now: datetime, seed: int = 7, batch: int = 20_000) -> Iterator[list[dict]]:
    """The tickets in batches, so building them does not set the process's peak memory."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        received = now - timedelta(minutes=rnd.randint(0, 365 * 24 * 60))
        due = received + timedelta(days=rnd.choice([1, 5, 10, 15]))
        status = rnd.choice(STATUSES)
        done = status in ("closed", "visited", "answered")
        rows.append(dict(
            id=f"b{i:08d}", number=f"B{i:010d}", text="合成工单正文" * 20, received_at=received, due_at=due,
            department=rnd.choice(DEPARTMENTS), status=status, domain=rnd.choice(DOMAINS), request_type="投诉",
            places=[rnd.choice(PLACES)] if rnd.random() < 0.8 else [], location=rnd.choice(PLACES),
            replied_at=received + timedelta(days=rnd.uniform(0.2, 16)) if done else None,
            satisfaction=rnd.choice([None, "满意", "基本满意", "不满意"]) if done else None,
            reopen_count=int(rnd.random() < 0.03), needs_review=rnd.random() < 0.05,
        ))  # fmt: skip
        if len(rows) == batch:
            yield rows
            rows = []
    if rows:
        yield rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        ks = KnowledgeService(Settings(data_dir=Path(tmp)), embedder=None)
        try:
            svc = HotlineService(ks)
            print(f"合成 {args.tickets} 张工单 …", file=sys.stderr)
            with ks.db.session() as s:
                for rows in synth(args.tickets, now):
                    s.execute(insert(Ticket), rows)
                s.commit()
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                out = svc.stats(now=now)
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            month = svc.stats(start=now - timedelta(days=30), now=now)
            month_s = time.perf_counter() - t0
        finally:
            ks.close()
    result = {
        "tickets": args.tickets,
        "stats_seconds_best": round(min(times), 2),
        "stats_seconds_last30days": round(month_s, 2),
        "tickets_last30days": month.total,
        "departments": len(out.departments),
        "hotspots": len(out.hotspots),
        "rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1),
        "date": now.date().isoformat(),
        "python": platform.python_version(),
    }
    out_path = ROOT / "benchmarks" / "results" / "hotline_stats.json"
    out_path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

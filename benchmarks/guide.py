"""智能办事助手 matching quality, LLM-free path.

1. Owned set (benchmarks/data/guide_eval.jsonl, 222 colloquial requests written for this project, with
   gold items/bundles; several golds mean any is right) against the demo catalogue shipped in the package:
   top-1/3/5, the number of clarifying questions the first answer asks, latency. Also an ablation without
   the synonym dictionary.
2. Scale: the 1,135 item names of ../shared/data/gov_service_catalogue_guangan (四川政务服务网, 广安区; see its
   SOURCE.txt — research data, read here, never copied into the repo) imported as a catalogue through the real
   import path; benchmarks/data/guide_guangan_queries.jsonl holds 115 paraphrased names (written for this
   project) with the gold item id: top-1/3/5 by item name (identical names in other departments count) and
   department accuracy of the top-1 item.

    .venv/bin/python benchmarks/guide.py [--guangan ../shared/data/gov_service_catalogue_guangan/data.jsonl]

Prints progress to stderr; the last stdout line is one JSON object (top1, top3, avg_clarifications, …),
also written to benchmarks/results/guide.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.guide.match import MatchIndex  # noqa: E402
from haoban.apps.guide.service import GuideService  # noqa: E402
from haoban.config import Settings  # noqa: E402
from haoban.knowledge.service import KnowledgeService  # noqa: E402

DATA = ROOT / "benchmarks" / "data"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def hit_at(codes: list[str], gold: set[str], k: int) -> bool:
    return bool(set(codes[:k]) & gold)


def owned(workdir: Path) -> dict:
    ks = KnowledgeService(Settings(data_dir=workdir / "owned", embedding_backend="none"), embedder=None)
    g = GuideService(ks)
    g.load_demo()
    rows = read_jsonl(DATA / "guide_eval.jsonl")
    g.match("预热")
    top = {1: 0, 3: 0, 5: 0}
    clar: list[int] = []
    times: list[float] = []
    misses = []
    for r in rows:
        t0 = time.perf_counter()
        res = g.match(r["query"], k=5, use_model=False)
        times.append((time.perf_counter() - t0) * 1000)
        codes = [c.code for c in res.candidates]
        gold = set(r["gold"])
        for k in top:
            top[k] += hit_at(codes, gold, k)
        clar.append(len(res.questions))
        if not hit_at(codes, gold, 3):
            misses.append({"query": r["query"], "gold": r["gold"], "got": codes[:3]})
    # Ablation: the same retrieval without the synonym dictionary.
    cat = g.catalogue()
    bare = MatchIndex(cat.items, cat.bundles, {})
    abl = {1: 0, 3: 0}
    for r in rows:
        codes = [h.entry.code for h in bare.search(r["query"], k=5)[0]]
        for k in abl:
            abl[k] += hit_at(codes, set(r["gold"]), k)
    ks.close()
    n = len(rows)
    return {
        "queries": n,
        "top1": round(top[1] / n, 4),
        "top3": round(top[3] / n, 4),
        "top5": round(top[5] / n, 4),
        "avg_clarifications": round(sum(clar) / n, 3),
        "share_with_questions": round(sum(1 for c in clar if c) / n, 3),
        "latency_ms_p50": round(statistics.median(times), 2),
        "latency_ms_p95": round(sorted(times)[int(0.95 * (n - 1))], 2),
        "no_synonyms_top1": round(abl[1] / n, 4),
        "no_synonyms_top3": round(abl[3] / n, 4),
        "misses_top3": misses,
    }


def guangan(workdir: Path, path: Path) -> dict:
    src = read_jsonl(path)
    items = []
    seen: set[str] = set()
    for r in src:
        code = r["item_code"] or r["id"]
        if code in seen:  # a few codes repeat across 主事项 groups; keep the row id unique
            code = f"{code}#{r['id']}"
        seen.add(code)
        items.append(
            {
                "code": code[:120],
                "name": r["item_name"][:300],
                "department": r["department"],
                "item_type": "公共服务",
            }
        )
    ks = KnowledgeService(Settings(data_dir=workdir / "guangan", embedding_backend="none"), embedder=None)
    g = GuideService(ks)
    t0 = time.perf_counter()
    report = g.import_catalogue(json.dumps({"items": items}, ensure_ascii=False).encode(), "json")
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    g.index()
    index_s = time.perf_counter() - t0
    by_id = {r["id"]: r for r in src}
    queries = read_jsonl(DATA / "guide_guangan_queries.jsonl")
    top = {1: 0, 3: 0, 5: 0}
    dept = 0
    times = []
    misses = []
    for q in queries:
        gold = by_id[q["gold_id"]]
        t1 = time.perf_counter()
        res = g.match(q["query"], k=5, use_model=False)
        times.append((time.perf_counter() - t1) * 1000)
        names = [c.name for c in res.candidates]
        for k in top:
            top[k] += gold["item_name"] in names[:k]
        dept += bool(res.candidates) and res.candidates[0].department == gold["department"]
        if gold["item_name"] not in names[:3]:
            # Ids only: the research catalogue's names stay out of the repository.
            misses.append({"query": q["query"], "gold_id": q["gold_id"], "got_ids": [c.code for c in res.candidates[:3]]})
    # Exact names as queries: a sanity floor for retrieval over near-duplicate official names.
    exact1 = 0
    for r in src[::5]:
        got = g.match(r["item_name"][:300], k=1, use_model=False).candidates
        exact1 += bool(got) and got[0].name == r["item_name"]
    ks.close()
    n = len(queries)
    return {
        "items": report.items,
        "departments": len({r["department"] for r in src}),
        "import_s": round(import_s, 2),
        "index_s": round(index_s, 2),
        "queries": n,
        "top1": round(top[1] / n, 4),
        "top3": round(top[3] / n, 4),
        "top5": round(top[5] / n, 4),
        "department_top1": round(dept / n, 4),
        "exact_name_top1": round(exact1 / len(src[::5]), 4),
        "latency_ms_p50": round(statistics.median(times), 2),
        "misses_top3": misses,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--guangan",
        type=Path,
        default=ROOT.parent / "shared" / "data" / "gov_service_catalogue_guangan" / "data.jsonl",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "guide.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log("owned set …")
        own = owned(Path(tmp))
        log(f"owned: top1 {own['top1']} top3 {own['top3']}")
        scale = guangan(Path(tmp), args.guangan) if args.guangan.exists() else None
        if scale:
            log(f"guangan: top1 {scale['top1']} top3 {scale['top3']}")
    result = {
        "benchmark": "guide",
        "mode": "rules (no model)",
        "top1": own["top1"],
        "top3": own["top3"],
        "avg_clarifications": own["avg_clarifications"],
        "owned": own,
        "guangan": scale,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    summary = {k: v for k, v in result.items() if k not in ("owned", "guangan")}
    summary["owned"] = {k: v for k, v in own.items() if k != "misses_top3"}
    summary["guangan"] = {k: v for k, v in (scale or {}).items() if k != "misses_top3"} or None
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()

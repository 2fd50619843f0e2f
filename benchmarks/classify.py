"""12345 classification benchmark (issue #6 interface): accuracy through the project's own training path,
calibration, review-queue coverage, duplicate detection, speed.

Data: ../shared/data/gov_messages/train.jsonl (citizen messages with request_type, domain, sentiment; see its
SOURCE.txt; research-only, never copied into the repository), split here by md5(id) into 80 % train / 20 % test.

    python benchmarks/classify.py                                   # full report → benchmarks/results/classify.json
    python benchmarks/classify.py --train A.jsonl --test B.jsonl --field request_type|domain
        # one field; the last line printed is {"accuracy", "macro_f1", "per_class"} (issue #6 interface)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.hotline import dedup  # noqa: E402
from haoban.apps.hotline.classify import FieldClassifier, evaluate  # noqa: E402
from haoban.apps.hotline.router import REVIEW_THRESHOLD  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
MIN_DOMAIN = 40  # domains with at least this many training examples are scored (issue #6)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def field_rows(train: list[dict], test: list[dict], field: str) -> tuple[list[dict], list[dict]]:
    train = [r for r in train if r.get(field)]
    test = [r for r in test if r.get(field)]
    if field == "domain":
        keep = {d for d, n in Counter(r["domain"] for r in train).items() if n >= MIN_DOMAIN}
        train = [r for r in train if r["domain"] in keep]
        test = [r for r in test if r["domain"] in keep]
    return train, test


def run_field(train: list[dict], test: list[dict], field: str) -> dict:
    tr, te = field_rows(train, test, field)
    start = time.perf_counter()
    clf = FieldClassifier().fit([r["text"] for r in tr], [r[field] for r in tr])
    seconds = time.perf_counter() - start
    result = evaluate(clf, [r["text"] for r in te], [r[field] for r in te], REVIEW_THRESHOLD)
    result.update(train_n=len(tr), train_seconds=round(seconds, 1), classes=len(clf.classes))
    return result


def dedup_sanity(rows: list[dict], n: int = 200) -> dict:
    """Pairs of (message, lightly reworded copy) must be found; unrelated messages must not match."""
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    base = rows[:n]
    cands = [(r["text"], t0, []) for r in base]
    found = false_hits = 0
    for i, r in enumerate(base[: n // 2]):
        copy = "又有市民反映：" + r["text"].replace("请问", "想问", 1) + "，希望尽快处理。"
        hits = dedup.find_similar(copy, t0 + timedelta(hours=5), [], cands, top=1)
        found += bool(hits and hits[0].index == i)
    for r in rows[n : n + n // 2]:
        hits = dedup.find_similar(r["text"], t0, [], cands, top=1)
        false_hits += bool(hits)
    return {"recall_reworded_copies": round(found / (n // 2), 3), "false_match_rate_unrelated": round(false_hits / (n // 2), 3)}


def govqa_routing(path: Path) -> dict:
    """Department routing: govqa questions (each answered by one Beijing department), split by md5(id) like above."""
    rows = [{"id": r["id"], "text": r["question"], "department": r["department"]} for r in read(path) if r.get("department")]
    bucket = lambda r: int(hashlib.md5(r["id"].encode()).hexdigest(), 16) % 5  # noqa: E731
    return run_field([r for r in rows if bucket(r) != 0], [r for r in rows if bucket(r) == 0], "department")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", type=Path)
    ap.add_argument("--test", type=Path)
    ap.add_argument("--field", choices=["request_type", "domain"])
    ap.add_argument("--data", type=Path, default=DATA / "gov_messages" / "train.jsonl")
    ap.add_argument("--govqa", type=Path, default=DATA / "govqa" / "questions.jsonl", help="question → department routing")
    args = ap.parse_args()
    if args.train and args.test and args.field:
        r = run_field(read(args.train), read(args.test), args.field)
        print(json.dumps({k: r[k] for k in ("accuracy", "macro_f1", "per_class")}, ensure_ascii=False))
        return
    rows = read(args.data)
    bucket = lambda r: int(hashlib.md5(r["id"].encode()).hexdigest(), 16) % 5  # noqa: E731
    train = [r for r in rows if bucket(r) != 0]
    test = [r for r in rows if bucket(r) == 0]
    report = {"data": str(args.data.relative_to(ROOT.parent)) if args.data.is_relative_to(ROOT.parent) else str(args.data),
              "split": "md5(id) % 5 == 0 → test", "threshold": REVIEW_THRESHOLD}
    for field in ("request_type", "domain"):
        report[field] = run_field(train, test, field)
        print(field, json.dumps({k: report[field][k] for k in ("accuracy", "macro_f1", "ece", "coverage", "accuracy_covered", "per_second", "cpu_per_second")}, ensure_ascii=False), file=sys.stderr)
    report["dedup"] = dedup_sanity(test)
    report["govqa_department"] = govqa_routing(args.govqa)
    print("govqa_department", json.dumps({k: report["govqa_department"][k] for k in ("accuracy", "macro_f1", "coverage", "accuracy_covered")}, ensure_ascii=False), file=sys.stderr)
    out = ROOT / "benchmarks" / "results" / "classify.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()

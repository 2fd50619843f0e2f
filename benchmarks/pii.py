"""PII detection quality on NER data: names, addresses (incl. place names) and organisations.

Input: JSONL, one sentence a line, {"text": …, "entities": [{"type", "start", "end"(exclusive), "text"}]},
e.g. ../shared/data/ner_cluener2020_dev/data.jsonl or ../shared/data/ner_msra_sample2000/data.jsonl.
Each set's own type names are mapped (case-insensitive) onto name / address / organization; unknown
types (book, game, position, …) are left out of the scoring and counted on stderr.

Matching rule (entity level): a predicted span matches a gold span of the same type when their
overlap covers ≥ 50% of the LONGER of the two spans; each gold and each predicted span is used at most
once (best overlaps first). precision = matched predictions / predictions, recall = matched gold / gold.
Predictions are `haoban.safety.pii.detect(text, types=name,address,place,organization)`; bare place
names (type "place") count as address, because these sets label places (北京, 台湾) as addresses.

    .venv/bin/python benchmarks/pii.py --data ../shared/data/ner_cluener2020_dev/data.jsonl

The last line of stdout is {"name": {"precision", "recall"}, "address": {…}, "organization": {…}};
the full result also goes to benchmarks/results/pii_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.safety import pii  # noqa: E402

CATEGORIES = ("name", "address", "organization")
_ALIASES = {
    "name": {"name", "per", "person", "persons", "people", "nr", "pers", "per.nam", "person_name", "personname",
             "人名", "姓名"},
    "address": {"address", "addr", "loc", "location", "gpe", "ns", "place", "geo", "geo-loc", "city", "country",
                "province", "loc.nam", "gpe.nam", "地址", "地名"},
    "organization": {"organization", "organisation", "org", "company", "government", "nt", "institution",
                     "gov", "corp", "corporation", "org.nam", "机构", "组织", "公司"},
}
_TYPE_MAP = {alias: cat for cat, aliases in _ALIASES.items() for alias in aliases}
_PRED_MAP = {"name": "name", "address": "address", "place": "address", "organization": "organization"}


def map_type(raw: str) -> str | None:
    t = raw.strip().lower()
    for prefix in ("b-", "i-", "s-", "e-"):
        t = t.removeprefix(prefix)
    return _TYPE_MAP.get(t)


def match(gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> int:
    pairs = []
    for gi, (gs, ge) in enumerate(gold):
        for pi, (ps, pe) in enumerate(pred):
            overlap = min(ge, pe) - max(gs, ps)
            if overlap > 0 and overlap >= 0.5 * max(ge - gs, pe - ps):
                pairs.append((overlap, gi, pi))
    used_g, used_p = set(), set()
    for _, gi, pi in sorted(pairs, reverse=True):
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
    return len(used_g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, type=Path, help="JSONL 文件：text + entities")
    ap.add_argument("--out", type=Path, help="结果文件（默认 benchmarks/results/pii_<数据集>.json）")
    ap.add_argument("--limit", type=int, default=0, help="只评测前 N 句（0 为全部）")
    args = ap.parse_args()

    counts = {c: Counter() for c in CATEGORIES}
    ignored: Counter[str] = Counter()
    pii.warm_up()
    began = time.perf_counter()
    chars = sentences = 0
    with args.data.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row.get("text") or ""
            sentences += 1
            chars += len(text)
            gold: dict[str, list[tuple[int, int]]] = {c: [] for c in CATEGORIES}
            for e in row.get("entities") or []:
                cat = map_type(str(e.get("type", "")))
                if cat is None:
                    ignored[str(e.get("type"))] += 1
                else:
                    gold[cat].append((int(e["start"]), int(e["end"])))
            pred: dict[str, list[tuple[int, int]]] = {c: [] for c in CATEGORIES}
            for s in pii.detect(text, types=("name", "address", "place", "organization")):
                pred[_PRED_MAP[s.type]].append((s.start, s.end))
            for c in CATEGORIES:
                m = match(gold[c], pred[c])
                counts[c].update(gold=len(gold[c]), pred=len(pred[c]), matched=m)
            if args.limit and sentences >= args.limit:
                break
    seconds = time.perf_counter() - began
    if ignored:
        print(f"未计分的类型：{dict(ignored)}", file=sys.stderr)

    summary = {}
    for c in CATEGORIES:
        k = counts[c]
        summary[c] = {
            "precision": round(k["matched"] / k["pred"], 4) if k["pred"] else 0.0,
            "recall": round(k["matched"] / k["gold"], 4) if k["gold"] else 0.0,
        }
        print(f"{c:13s} gold={k['gold']:5d} pred={k['pred']:5d} matched={k['matched']:5d} "
              f"P={summary[c]['precision']:.3f} R={summary[c]['recall']:.3f}", file=sys.stderr)
    dataset = args.data.parent.name if args.data.stem == "data" else args.data.stem
    full = {
        "dataset": dataset,
        "data": str(args.data),
        "sentences": sentences,
        "chars": chars,
        "seconds": round(seconds, 2),
        "chars_per_second": round(chars / seconds) if seconds else None,
        "matching": "entity-level, same type, overlap >= 50% of the longer span, one-to-one",
        "counts": {c: dict(counts[c]) for c in CATEGORIES},
        "ignored_types": dict(ignored),
        "scores": summary,
    }
    out = args.out or ROOT / "benchmarks" / "results" / f"pii_{dataset}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(full, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()

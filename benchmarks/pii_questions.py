"""How often the input guard masks a "name" in real citizen questions (most of them contain no person's name).

Every question to the Q&A app passes `Guard.check_input`, which masks personal information with
`pii.mask(text, "tag", INPUT_PII)`. A word taken for a name (沙尘暴, 申请人) corrupts the question that is
searched and answered, so this counts the texts that get a `name` span and lists them to be read by hand:

- govqa: /work/shared/data/govqa/questions.jsonl (field `question`), FAQ-style questions;
- policyqa: /work/shared/data/policyqa/questions.jsonl (field `question`), questions about policy documents;
- gov_messages: /work/shared/data/gov_messages/train.jsonl (field `text`), 12345 hotline messages, which
  sometimes do name a person (an official, a neighbour, the caller).

    PYTHONPATH=$PWD/src .venv/bin/python benchmarks/pii_questions.py   # writes results/pii_questions.json

stdout: the full result as JSON; the last line is {set: {"texts", "with_name", "names"}}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.safety import pii  # noqa: E402
from haoban.safety.guard import INPUT_PII  # noqa: E402

DATA = Path("/work/shared/data")
SETS = {
    "govqa": (DATA / "govqa" / "questions.jsonl", "question"),
    "policyqa": (DATA / "policyqa" / "questions.jsonl", "question"),
    "gov_messages": (DATA / "gov_messages" / "train.jsonl", "text"),
}


def measure(path: Path, field: str) -> dict:
    texts = texts_with_name = names = chars = 0
    listed = []
    began = time.perf_counter()
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row.get(field) or ""
            texts += 1
            chars += len(text)
            # The guard's own masking: same types, same style.
            result = pii.mask(text, "tag", INPUT_PII)
            found = [s.text for s in result.spans if s.type == "name"]
            if found:
                texts_with_name += 1
                names += len(found)
                # Long hotline messages are listed by the words around each name, to keep the result file small.
                shown = result.text if len(text) <= 120 else " … ".join(
                    text[max(0, s.start - 15) : s.end + 15] for s in result.spans if s.type == "name"
                )
                listed.append({"id": row.get("id"), "names": found, "masked" if len(text) <= 120 else "context": shown})
    seconds = time.perf_counter() - began
    return {
        "data": str(path),
        "field": field,
        "texts": texts,
        "chars": chars,
        "with_name": texts_with_name,
        "names": names,
        "seconds": round(seconds, 2),
        "listed": listed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help=f"逗号分隔，可选 {', '.join(SETS)}")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pii_questions.json")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SETS]
    if unknown:
        sys.exit(f"未知的数据集：{'、'.join(unknown)}；可选 {', '.join(SETS)}")

    pii.warm_up()
    results = {name: measure(*SETS[name]) for name in wanted}
    summary = {name: {k: r[k] for k in ("texts", "with_name", "names")} for name, r in results.items()}
    full = {"types": list(INPUT_PII), "style": "tag", "summary": summary, "sets": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(full, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()

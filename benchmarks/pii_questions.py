"""How often the input guard masks a "name" or an "address" in real citizen questions (few contain either).

Every question to the Q&A app passes `Guard.check_input`, which masks personal information with
`pii.mask(text, "tag", INPUT_PII)`. A word taken for a name (沙尘暴, 申请人) or an address (易发区, 市政道路)
corrupts the question that is searched and answered, so this counts the texts that get a `name` or an
`address` span (`--list` prints them, to be read by hand):

- govqa: ../shared/data/govqa/questions.jsonl (field `question`), FAQ-style questions;
- policyqa: ../shared/data/policyqa/questions.jsonl (field `question`), questions about policy documents;
- gov_messages: ../shared/data/gov_messages/train.jsonl (field `text`), 12345 hotline messages, which
  sometimes do name a person (an official, a neighbour, the caller).

    .venv/bin/python benchmarks/pii_questions.py   # writes results/pii_questions.json

The result file holds counts, and for the two question sets the words taken for names and addresses; no text of the data
sets (their licences do not allow copying them into the repository) and nothing from the hotline messages,
where a flagged word may be a real person's name or address. The last line of stdout is the summary JSON.
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
from haoban.safety.guard import INPUT_PII  # noqa: E402

SETS = {  # file under the data directory, field, whether the flagged words may be kept in the result file
    "govqa": ("govqa/questions.jsonl", "question", True),
    "policyqa": ("policyqa/questions.jsonl", "question", True),
    "gov_messages": ("gov_messages/train.jsonl", "text", False),
}


# Types counted per set: the field names in the result and the words of --list.
COUNTED = {"name": ("with_name", "names", "flagged_words"), "address": ("with_address", "addresses", "flagged_addresses")}


def measure(path: Path, field: str, keep_words: bool, show: bool) -> dict:
    texts = chars = 0
    with_type: Counter[str] = Counter()
    spans: Counter[str] = Counter()
    words: dict[str, Counter[str]] = {t: Counter() for t in COUNTED}
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
            for kind in COUNTED:
                hits = [s for s in result.spans if s.type == kind]
                if not hits:
                    continue
                found = [s.text for s in hits]
                with_type[kind] += 1
                spans[kind] += len(found)
                words[kind].update(found)
                if show:  # to the terminal only, for reading by hand
                    shown = result.text if len(text) <= 120 else " … ".join(
                        text[max(0, s.start - 15) : s.end + 15] for s in hits
                    )
                    print(f"{path.parent.name}\t{kind}\t{row.get('id')}\t{'、'.join(found)}\t{shown}", file=sys.stderr)
    out = {"data": f"{path.parent.name}/{path.name}", "field": field, "texts": texts, "chars": chars}
    for kind, (with_key, count_key, _) in COUNTED.items():
        out[with_key] = with_type[kind]
        out[count_key] = spans[kind]
    out["seconds"] = round(time.perf_counter() - began, 2)
    if keep_words:
        for kind, (_, _, words_key) in COUNTED.items():
            out[words_key] = dict(words[kind].most_common())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default=",".join(SETS), help=f"逗号分隔，可选 {', '.join(SETS)}")
    ap.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data", help="评测数据目录（默认 ../shared/data）")
    ap.add_argument("--list", action="store_true", help="把带姓名或地址片段的文本逐条打印到 stderr（只供人工查看，不写入结果文件）")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "pii_questions.json")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SETS]
    if unknown:
        sys.exit(f"未知的数据集：{'、'.join(unknown)}；可选 {', '.join(SETS)}")

    pii.warm_up()
    results = {}
    for name in wanted:
        file, field, keep_words = SETS[name]
        results[name] = measure(args.data_dir / file, field, keep_words, args.list)
    keys = ["texts"] + [k for with_key, count_key, _ in COUNTED.values() for k in (with_key, count_key)]
    summary = {name: {k: r[k] for k in keys} for name, r in results.items()}
    full = {"types": list(INPUT_PII), "style": "tag", "summary": summary, "sets": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(full, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(full, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()

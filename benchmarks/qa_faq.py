"""Policy Q&A answering from question–answer pairs (问答对): how often a pair's own question gets that pair's
answer, and how often a question that no pair asks gets a pair's answer anyway.

The pairs are the govqa questions file (question, answer per row; Beijing government FAQ answers), imported
through KnowledgeService.import_faq from a JSON Lines file into a fresh knowledge base (lexical index only).
Then, without a model:
- each distinct question (up to 480 characters, the question limit being 500) is asked as written and with
  "请问" in front: `own` = answered with its own pair (same question), `other` = another pair's answer,
  `none` = no pair's answer (extractive or refusal as before); `guard_altered` counts the misses whose
  question the input guard changed (identifier masking) before it was matched;
- the policyqa questions and the out-of-scope questions (benchmarks/data/oos_questions.jsonl), which no pair
  asks, are asked against the same base: `faq_answers` should be 0.

    .venv/bin/python benchmarks/qa_faq.py              # writes benchmarks/results/qa-faq-govqa.json

The last line of stdout is the result as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.qa import QAService  # noqa: E402
from haoban.config import Settings  # noqa: E402
from haoban.knowledge.service import KnowledgeService  # noqa: E402
from haoban.text.normalize import normalize  # noqa: E402

MAX_CHARS = 480


def same_question(a: str, b: str) -> bool:
    def key(s: str) -> str:
        return re.sub(r"[\W_]+", "", normalize(s))

    return key(a) == key(b)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=Path, default=Path("../shared/data/govqa/questions.jsonl"))
    ap.add_argument("--others", type=Path, nargs="*",
                    default=[Path("../shared/data/policyqa/questions.jsonl"), ROOT / "benchmarks/data/oos_questions.jsonl"])  # fmt: skip
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/qa-faq-govqa.json")
    args = ap.parse_args()

    rows = read_jsonl(args.pairs)
    questions = list(dict.fromkeys(r["question"].strip() for r in rows if len(r["question"].strip()) <= MAX_CHARS))
    data = "\n".join(json.dumps({"question": r["question"], "answer": r["answer"]}, ensure_ascii=False) for r in rows)
    with tempfile.TemporaryDirectory() as tmp:
        svc = KnowledgeService(Settings(data_dir=Path(tmp), embedding_backend="none"), embedder=None)
        try:
            svc.create_kb("问答对")
            report = svc.import_faq("问答对", data.encode(), "govqa.jsonl")
            print(f"imported {report.added}, skipped {report.skipped}", file=sys.stderr)
            qa = QAService(svc)
            times: list[float] = []
            own_sets = {}
            for prefix in ("", "请问"):
                counts = {"own": 0, "other": 0, "none": 0, "guard_altered": 0}
                for q in questions:
                    t0 = time.perf_counter()
                    a = qa.ask(prefix + q, use_model=False)
                    times.append(time.perf_counter() - t0)
                    if a.faq is None:
                        counts["none"] += 1
                        counts["guard_altered"] += a.question != " ".join((prefix + q).split())
                    elif same_question(a.faq.question, q):
                        counts["own"] += 1
                    else:
                        counts["other"] += 1
                        print(f"other pair: {q} → {a.faq.question}", file=sys.stderr)
                own_sets[prefix or "as_written"] = {**counts, "questions": len(questions), "own_rate": round(counts["own"] / len(questions), 4)}
            others = {"questions": 0, "faq_answers": 0}
            for path in args.others:
                for r in read_jsonl(path):
                    others["questions"] += 1
                    a = qa.ask(r["question"][:500], use_model=False)
                    if a.faq is not None:
                        others["faq_answers"] += 1
                        print(f"pair answer for an unrelated question: {r['question']} → {a.faq.question}", file=sys.stderr)
        finally:
            svc.close()

    times.sort()
    result = {
        "benchmark": "qa_faq",
        "pairs_source": args.pairs.name,
        "pairs_imported": report.added,
        "pair_questions": {"as_written": own_sets["as_written"], "with_qingwen": own_sets["请问"]},
        "unrelated_questions": {**others, "sources": [p.name for p in args.others]},
        "p50_ms": round(1000 * times[len(times) // 2], 1),
        "p95_ms": round(1000 * times[int(len(times) * 0.95)], 1),
        "note": "lexical index only, no model; own = the pair of the question asked, other = another pair's answer",
        "machine": {"python": platform.python_version()},
        "date": datetime.now(UTC).date().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

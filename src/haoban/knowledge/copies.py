"""Copies of one text in a knowledge base: a notice and its reposts (转载), a document re-issued under
another header, an FAQ answer entered twice.

Each document keeps a MinHash signature of its matching form (letters and digits only, so spacing,
punctuation and full-width digits don't matter): the minima of SIGNATURE_HASHES hashes of its character
3-grams. Documents whose estimated 3-gram Jaccard is at least COPY_JACCARD are copies of one another.
Search shows the best-ranked copy and lists the others under it: three copies of one notice in the top five
push other documents out and tell the reader nothing new, and any copy answers what the others answer.

Threshold: on the two benchmark corpora every pair at 0.9 or above is the same text under another header,
with other line breaks or an added 转发 line (one exception: two 职业技能标准 notes from one template with
another occupation's name, 0.93); between 0.75 and 0.9 there are already different answers (the mortgage
papers for existing buildings and for buildings under construction, 0.81). With 128 hashes the estimate's
standard error at J = 0.9 is about 0.027.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

from haoban.text.fold import normalize
from haoban.text.minhash import MinHasher

SIGNATURE_HASHES = 128
COPY_JACCARD = 0.9
_DTYPE = np.dtype("<u4")  # the hasher keeps the high 32 bits of each hash
BAND_ROWS = 8  # 16 bands of 8 hashes: J = 0.9 shares a band with probability 1 − (1 − 0.9⁸)¹⁶ ≈ 0.9999
_BAND_MIX = np.random.default_rng(7).integers(1, 2**63, size=BAND_ROWS, dtype=np.uint64) | np.uint64(1)

_hasher = MinHasher(bands=SIGNATURE_HASHES, rows=1, shingle=3)

T = TypeVar("T")


def signatures(texts: list[str]) -> list[bytes]:
    """One signature per text, as bytes for the database; one numpy pass over the whole batch."""
    if not texts:
        return []
    # A text with no letter or digit at all (a table of symbols) is hashed as it is.
    norms = [normalize(t) or t or " " for t in texts]
    return [row.tobytes() for row in _hasher.signatures(norms).astype(_DTYPE)]


def _candidate_pairs(sigs: np.ndarray) -> dict[int, set[int]]:
    """Rows that agree on all hashes of at least one band of BAND_ROWS: every pair with Jaccard 0.9 is among
    them but for a chance of about 1e-4, and only these few pairs are compared in full."""
    n = len(sigs)
    bands = sigs.reshape(n, -1, BAND_ROWS).astype(np.uint64)
    with np.errstate(over="ignore"):  # wrap-around mixing is intended
        keys = (bands * _BAND_MIX).sum(axis=2) + np.arange(bands.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    width = keys.shape[1]
    flat = keys.ravel()
    order = np.argsort(flat)
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each run of one key begins
    ends = np.r_[starts[1:], len(flat)]
    out: dict[int, set[int]] = {}
    for a, b in zip(starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True):
        rows = set((order[a:b] // width).tolist())
        for r in rows:
            out.setdefault(r, set()).update(rows - {r})
    return out


def decode(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=_DTYPE)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated 3-gram Jaccard of two texts from their signatures (standard error ≈ 0.027 at 0.9)."""
    return float(np.mean(a == b))


def same_text(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two signatures are of copies of one text (estimated Jaccard ≥ COPY_JACCARD)."""
    return similarity(a, b) >= COPY_JACCARD


def fold(
    ranked: Iterable[tuple[str, T]],
    doc_of: dict[str, str],
    signature_of: Callable[[list[str]], dict[str, np.ndarray]],
    top_k: int,
) -> tuple[list[tuple[str, T]], dict[str, list[tuple[str, float]]]]:
    """Keep the best-ranked copy of each text: (the first top_k entries of documents shown, shown document
    → its copies among the candidates with their estimated Jaccard to it, best first).

    `ranked` is best first, (chunk id, anything); `signature_of` returns the signatures of the given
    documents (a document without one is nobody's copy).
    """
    ranked = list(ranked)
    docs = list(dict.fromkeys(doc_of[cid] for cid, _ in ranked))
    sigs = signature_of(docs)
    have = [d for d in docs if d in sigs]
    candidates = _candidate_pairs(np.stack([sigs[d] for d in have])) if len(have) > 1 else {}
    position = {d: i for i, d in enumerate(have)}
    shown: set[str] = set()
    copy_of: dict[str, tuple[str, float]] = {}
    for doc in docs:  # best first: a copy goes under the best-ranked document it matches
        i = position.get(doc)
        match = None
        if i is not None:
            for j in sorted(candidates.get(i, ())):
                other = have[j]
                if j < i and other in shown and same_text(sigs[other], sigs[doc]):
                    match = (other, similarity(sigs[other], sigs[doc]))
                    break
        if match is None:
            shown.add(doc)
        else:
            copy_of[doc] = match
    top = [(cid, v) for cid, v in ranked if doc_of[cid] not in copy_of][:top_k]
    in_top = {doc_of[cid] for cid, _ in top}
    copies: dict[str, list[tuple[str, float]]] = {}
    for doc, (rep, sim) in copy_of.items():
        if rep in in_top:
            copies.setdefault(rep, []).append((doc, sim))
    return top, copies

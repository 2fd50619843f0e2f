"""MinHash signatures of character shingles and their LSH band keys, vectorised over many texts.

Used for sentences by the 公文 duplicate check (apps/gongwen/dedup) and for whole documents by the knowledge
base's copy detection (knowledge/copies.py).

Why our own numpy code and not datasketch: datasketch builds one Python object per set and its LSH keeps
buckets in a dict (or Redis); here millions of sentences are hashed in a few numpy passes and the band keys
go straight into sorted on-disk arrays (see apps/gongwen/dedup/index.py).

Shingles are character k-grams of the normalised sentence, packed exactly into one 63-bit integer
(three code points × 21 bits for k = 3), mixed with splitmix64, then hashed by `bands × rows`
multiply-shift functions; each sentence keeps the minimum per function. A band key mixes the band number and
its `rows` minima into one uint64. Two sentences with shingle Jaccard J share at least one band key with
probability 1 − (1 − J^rows)^bands (rows 3, bands 16: J 0.5 → 0.88, J 0.6 → 0.98, J 0.3 → 0.35, J 0.1 → 0.016).
"""

from __future__ import annotations

import numpy as np

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
CHUNK_SHINGLES = 1 << 20  # shingles hashed per pass: bounds the temporary arrays to a few MB


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A strong 64-bit mixer (Steele et al.); wraps modulo 2^64 as intended."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> _U64(30))) * _M1
        z = (z ^ (z >> _U64(27))) * _M2
        return z ^ (z >> _U64(31))


class MinHasher:
    def __init__(self, bands: int = 16, rows: int = 3, shingle: int = 3, seed: int = 20240607):
        if not (1 <= shingle <= 3 and bands >= 1 and rows >= 1):
            raise ValueError("shingle must be 1..3, bands and rows ≥ 1")
        self.bands, self.rows, self.shingle, self.seed = bands, rows, shingle, seed
        rng = np.random.default_rng(seed)
        n = bands * rows
        self._a = rng.integers(1, 2**63, size=n, dtype=np.uint64) | _U64(1)  # odd multipliers
        self._b = rng.integers(0, 2**63, size=n, dtype=np.uint64)

    @property
    def params(self) -> dict[str, int]:
        return {"bands": self.bands, "rows": self.rows, "shingle": self.shingle, "seed": self.seed}

    def _shingles(self, norms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All shingle ids, concatenated, and where each sentence's shingles begin."""
        k = self.shingle
        lengths = np.fromiter((len(s) for s in norms), dtype=np.int64, count=len(norms))
        if (lengths == 0).any():
            raise ValueError("empty sentence")
        codes = np.frombuffer("".join(norms).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        ends = np.cumsum(lengths)
        begins = ends - lengths
        # A sentence shorter than k gets one (shorter) shingle: pad the code array so reads stay in bounds.
        counts = np.maximum(lengths - k + 1, 1)
        firsts = np.repeat(begins, counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        limit = np.repeat(ends, counts)
        padded = np.concatenate([codes, np.zeros(k, dtype=np.uint64)])
        ids = np.zeros(len(firsts), dtype=np.uint64)
        for j in range(k):
            pos = firsts + j
            part = np.where(pos < limit, padded[np.minimum(pos, len(codes))], _U64(0))
            ids |= part << _U64(21 * j)
        starts = np.cumsum(counts) - counts
        return splitmix64(ids), starts

    def signatures(self, norms: list[str]) -> np.ndarray:
        """(len(norms), bands × rows) uint64 minima (only the high 32 bits of each hash are used)."""
        n = len(norms)
        out = np.empty((n, len(self._a)), dtype=np.uint64)
        i = 0
        while i < n:
            # Take sentences until about CHUNK_SHINGLES shingles are gathered.
            j, total = i, 0
            while j < n and (j == i or total + len(norms[j]) <= CHUNK_SHINGLES):
                total += len(norms[j])
                j += 1
            x, starts = self._shingles(norms[i:j])
            with np.errstate(over="ignore"):
                for f in range(len(self._a)):
                    h = (x * self._a[f] + self._b[f]) >> _U64(32)
                    out[i:j, f] = np.minimum.reduceat(h, starts)
            i = j
        return out

    def band_keys(self, norms: list[str]) -> np.ndarray:
        """(len(norms), bands) uint64 LSH keys."""
        sig = self.signatures(norms)
        keys = np.empty((len(norms), self.bands), dtype=np.uint64)
        for band in range(self.bands):
            k = splitmix64(np.full(len(norms), band + 1, dtype=np.uint64))
            for r in range(self.rows):
                k = splitmix64(k ^ sig[:, band * self.rows + r])
            keys[:, band] = k
        return keys

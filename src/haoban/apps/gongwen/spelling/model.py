"""Statistics behind the spelling checker: a character trigram LM, word evidence from the jieba
dictionary, confusion sets, and the features a candidate substitution is judged on.

Everything here is plain Python dicts and lists so that the training script can build the same
objects per cross-validation fold (`Stats.from_corpus`) that the shipped artifacts load into.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# Only CJK unified ideographs are ever corrected; everything else is context.
CJK = re.compile(r"[\u4e00-\u9fff]")
_BOS, _EOS = "\x02", "\x03"
# Absolute discount for the interpolated trigram LM (the usual value for small corpora).
_DISCOUNT = 0.75
# Word-evidence window: chars on each side of the checked position, longest word considered.
_WIN, _MAXW = 4, 6

_EMPTY: dict[str, float] = {}
# Confusion types, as bit flags stored in the confusion artifact.
SAME_PINYIN, SIMILAR_SOUND, SIMILAR_SHAPE, SEEN_PAIR, FREE, WORD_HOMOPHONE = 1, 2, 4, 8, 16, 32
# Free (dictionary-proposed) candidates: words at least this frequent, this many per neighbour.
_FREE_MIN, _FREE_TOP, _FREE_KEEP = 50, 12, 2

FEATURES = [
    "lm_delta",
    "lm_orig",
    "seg_delta",
    "maxw_orig",
    "maxw_cand",
    "wf_orig",
    "wf_cand",
    "sup_orig",
    "sup_cand",
    "tri_orig",
    "tri_cand",
    "pair_err",
    "orig_err",
    "uni_orig",
    "uni_cand",
    "same_pinyin",
    "similar_sound",
    "similar_shape",
    "seen_pair",
    "free",
    "span",
]


def lm_token(ch: str) -> str:
    """Collapse digits and Latin letters (half- or full-width) so numbers and codes share statistics."""
    if ch.isdigit():
        return "0"
    if ch.isascii() and ch.isalpha() or "\uff21" <= ch <= "\uff5a":
        return "a"
    if ch.isspace():
        return " "
    return ch


def normalize_for_lm(text: str) -> str:
    """Same length as `text`, so positions carry over unchanged."""
    return "".join(lm_token(c) for c in text)


def count_ngrams(sentences: Iterable[str]) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Unigram, bigram and trigram counts with sentence-boundary markers."""
    uni: Counter[str] = Counter()
    bi: Counter[str] = Counter()
    tri: Counter[str] = Counter()
    for sent in sentences:
        s = _BOS + _BOS + normalize_for_lm(sent) + _EOS
        uni.update(s[2:])
        bi.update(s[i : i + 2] for i in range(1, len(s) - 1))
        tri.update(s[i : i + 3] for i in range(len(s) - 2))
    return uni, bi, tri


@dataclass
class Stats:
    """Counts the features are computed from (shipped, or built per fold during training)."""

    uni: dict[str, int]
    bi: dict[str, int]
    tri: dict[str, int]
    dict_bi: Mapping[str, int]  # char bigrams inside jieba-dictionary words, weighted by word frequency
    confusion: Mapping[str, tuple[str, str]]  # char -> (candidates, one hex digit of type flags each)
    pair_err: Mapping[str, int]  # "wc" -> times w was written for c in the training errors
    char_err: Mapping[str, int]  # w -> times w was an error at all
    # Derived at construction: context totals and distinct followers for the discounted LM.
    _ctx1: dict[str, tuple[int, int]] = field(default_factory=dict)
    _ctx2: dict[str, tuple[int, int]] = field(default_factory=dict)
    _total: int = 0

    def __post_init__(self) -> None:
        ctx1: dict[str, list[int]] = {}
        for g, n in self.bi.items():
            e = ctx1.setdefault(g[0], [0, 0])
            e[0] += n
            e[1] += 1
        ctx2: dict[str, list[int]] = {}
        for g, n in self.tri.items():
            e = ctx2.setdefault(g[:2], [0, 0])
            e[0] += n
            e[1] += 1
        self._ctx1 = {k: (v[0], v[1]) for k, v in ctx1.items()}
        self._ctx2 = {k: (v[0], v[1]) for k, v in ctx2.items()}
        self._total = sum(self.uni.values())
        self._vocab = len(self.uni) + 1
        # Bigram plausibility log1p(corpus + dictionary count), indexed by first and by second char,
        # so pruning a candidate costs two small-dict lookups instead of string building.
        merged = {g: n for g, n in self.dict_bi.items() if len(g) == 2}
        for g, n in self.bi.items():
            merged[g] = merged.get(g, 0) + n
        after: dict[str, dict[str, float]] = {}
        before: dict[str, dict[str, float]] = {}
        log1p = math.log1p
        for g, n in merged.items():
            v = log1p(n)
            a, b = g
            row = after.get(a)
            if row is None:
                row = after[a] = {}
            row[b] = v
            col = before.get(b)
            if col is None:
                col = before[b] = {}
            col[a] = v
        self.after, self.before = after, before

    @classmethod
    def from_corpus(
        cls,
        sentences: Iterable[str],
        dict_bi: Mapping[str, int],
        confusion: Mapping[str, tuple[str, str]],
        errors: Iterable[tuple[str, str]],
    ) -> Stats:
        uni, bi, tri = count_ngrams(sentences)
        pair: Counter[str] = Counter()
        char: Counter[str] = Counter()
        for wrong, right in errors:
            pair[wrong + right] += 1
            char[wrong] += 1
        return cls(dict(uni), dict(bi), dict(tri), dict_bi, confusion, dict(pair), dict(char))

    # -- character LM -------------------------------------------------------------------------

    def logp(self, a: str, b: str, c: str) -> float:
        """log P(c | a b), interpolated absolute discounting down to an add-one unigram."""
        p = (self.uni.get(c, 0) + 1) / (self._total + self._vocab)
        t1 = self._ctx1.get(b)
        if t1:
            n, followers = t1
            p = (max(self.bi.get(b + c, 0) - _DISCOUNT, 0) + _DISCOUNT * followers * p) / n
        t2 = self._ctx2.get(a + b)
        if t2:
            n, followers = t2
            p = (max(self.tri.get(a + b + c, 0) - _DISCOUNT, 0) + _DISCOUNT * followers * p) / n
        return math.log(p)

    def support(self, left: str, piece: str, right: str) -> float:
        """Cheap plausibility of `piece` between its neighbours: log counts of the bigrams it makes."""
        s = left + piece + right
        after = self.after
        return sum(after.get(s[j], _EMPTY).get(s[j + 1], 0.0) for j in range(len(s) - 1))


class WordModel:
    """Unigram word model over the jieba dictionary (plus the project's domain dictionary)."""

    def __init__(self, freq: Mapping[str, int], total: int) -> None:
        self.freq = freq
        self.log_total = math.log(total)
        # A character that is not a dictionary entry costs as much as a very rare word.
        self.unknown = math.log(0.5) - self.log_total

    def word_logp(self, w: str) -> float | None:
        f = self.freq.get(w)
        return math.log(f) - self.log_total if f else None

    def best_path(self, s: str) -> float:
        """Max over segmentations of s of the sum of word log-probabilities (jieba-style DP)."""
        n = len(s)
        best = [0.0] + [-math.inf] * n
        for i in range(n):
            if best[i] == -math.inf:
                continue
            base = best[i]
            single = self.word_logp(s[i])
            v = base + (single if single is not None else self.unknown)
            if v > best[i + 1]:
                best[i + 1] = v
            for j in range(i + 2, min(n, i + _MAXW) + 1):
                w = s[i:j]
                f = self.freq.get(w)
                if f is None:  # not even a prefix of a dictionary word: longer ones cannot match
                    break
                if f:
                    v = base + math.log(f) - self.log_total
                    if v > best[j]:
                        best[j] = v
        return best[n]

    def covering(self, s: str, i: int) -> tuple[int, float]:
        """Longest multi-char dictionary word covering position i, and the best log frequency of one."""
        longest, top = 0, 0.0
        for a in range(max(0, i - _MAXW + 1), i + 1):
            for b in range(max(i + 1, a + 2), min(len(s), a + _MAXW) + 1):
                f = self.freq.get(s[a:b])
                if f is None:
                    break
                if f:
                    longest = max(longest, b - a)
                    top = max(top, math.log(f))
        return longest, top


def features(
    stats: Stats,
    words: WordModel,
    norm: str,
    i: int,
    repl: str,
    ctype: int,
    cache: dict[tuple[int, int], tuple[float, float, int, float]] | None = None,
) -> list[float]:
    """Feature vector for replacing norm[i : i + len(repl)] by repl (norm = LM-normalised sentence).

    `cache` keeps the original side's values per (position, length) across candidates."""
    k = len(repl)
    orig = norm[i : i + k]
    padded = _BOS + _BOS + norm + _EOS
    alt = padded[: i + 2] + repl + padded[i + 2 + k :]
    span = range(i + 2, min(i + 4 + k, len(padded)))
    a, b = max(0, i - _WIN), min(len(norm), i + k + _WIN)
    win_o = norm[a:b]
    win_c = win_o[: i - a] + repl + win_o[i - a + k :]
    got = cache.get((i, k)) if cache is not None else None
    if got is None:
        lm_o = sum(stats.logp(padded[j - 2], padded[j - 1], padded[j]) for j in span)
        mw_o, wf_o = words.covering(win_o, i - a)
        got = (lm_o, words.best_path(win_o), mw_o, wf_o)
        if cache is not None:
            cache[(i, k)] = got
    lm_o, path_o, mw_o, wf_o = got
    lm_c = sum(stats.logp(alt[j - 2], alt[j - 1], alt[j]) for j in span)
    mw_c, wf_c = words.covering(win_c, i - a)
    left, right = padded[i + 1], padded[i + 2 + k]
    return [
        lm_c - lm_o,
        lm_o,
        words.best_path(win_c) - path_o,
        float(mw_o),
        float(mw_c),
        wf_o,
        wf_c,
        stats.support(left, orig, right),
        stats.support(left, repl, right),
        math.log1p(stats.tri.get(left + orig[0] + padded[i + 3], 0)),
        math.log1p(stats.tri.get(left + repl[0] + alt[i + 3], 0)),
        sum(math.log1p(stats.pair_err.get(o + c, 0)) for o, c in zip(orig, repl, strict=True)),
        sum(math.log1p(stats.char_err.get(o, 0)) for o in orig),
        min(math.log1p(stats.uni.get(o, 0) + stats.dict_bi.get(o, 0)) for o in orig),
        min(math.log1p(stats.uni.get(c, 0) + stats.dict_bi.get(c, 0)) for c in repl),
        float(bool(ctype & SAME_PINYIN)),
        float(bool(ctype & SIMILAR_SOUND)),
        float(bool(ctype & SIMILAR_SHAPE)),
        float(bool(ctype & SEEN_PAIR)),
        float(bool(ctype & FREE)),
        float(k),
    ]


class Generator:
    """Proposes replacements: confusion sets per character, dictionary words around characters
    no word explains, and same-pinyin two-character words (the pinyin-IME slip 资源 -> 自愿)."""

    def __init__(
        self,
        stats: Stats,
        words: WordModel,
        readings: Mapping[str, list[str]],
        homophones: Mapping[str, str],
    ) -> None:
        self.stats = stats
        self.words = words
        self.readings = readings
        self.homophones = homophones
        # Frequent two-character words indexed by either character: the free candidates.
        follow: dict[str, list[tuple[int, str]]] = {}
        precede: dict[str, list[tuple[int, str]]] = {}
        for w, f in words.freq.items():
            if len(w) == 2 and f >= _FREE_MIN and CJK.match(w[0]) and CJK.match(w[1]):
                follow.setdefault(w[0], []).append((f, w[1]))
                precede.setdefault(w[1], []).append((f, w[0]))
        self.follow = {k: [c for _, c in sorted(v, reverse=True)[:_FREE_TOP]] for k, v in follow.items()}
        self.precede = {k: [c for _, c in sorted(v, reverse=True)[:_FREE_TOP]] for k, v in precede.items()}

    def chars(self, norm: str, i: int, limit: int) -> list[tuple[str, int]]:
        """Single-character replacements for norm[i] that fit the neighbours better than it does:
        the best `limit` confusables, plus a few dictionary-proposed ones when no word explains it."""
        stats = self.stats
        orig = norm[i]
        left = norm[i - 1] if i > 0 else _BOS
        right = norm[i + 1] if i + 1 < len(norm) else _EOS
        base = stats.support(left, orig, right)
        cands, flags = stats.confusion.get(orig, ("", ""))
        fl = stats.after.get(left, _EMPTY)
        pr = stats.before.get(right, _EMPTY)
        # Only a candidate forming a known bigram with a neighbour can gain (both sets built in C).
        hits = (fl.keys() & cands) | (pr.keys() & cands)
        out = self._best_chars(((c, int(flags[cands.index(c)], 16)) for c in hits), fl, pr, base, limit)
        if not (self.words.freq.get(left + orig) or self.words.freq.get(orig + right)):
            # No word explains this character: let dictionary words with a neighbour propose.
            free = {
                c
                for c in self.follow.get(left, []) + self.precede.get(right, [])
                if c != orig and c not in cands
            }
            out += self._best_chars(((c, FREE) for c in free), fl, pr, base, _FREE_KEEP)
        return out

    @staticmethod
    def _best_chars(
        cands: Iterable[tuple[str, int]],
        fl: Mapping[str, float],
        pr: Mapping[str, float],
        base: float,
        limit: int,
    ) -> list[tuple[str, int]]:
        # Same as _best for one character, inlined with the neighbour rows already looked up.
        scored = []
        for cand, ctype in cands:
            gain = fl.get(cand, 0.0) + pr.get(cand, 0.0) - base
            if gain > 0:
                scored.append((gain, cand, ctype))
        scored.sort(reverse=True)
        return [(c, t) for _, c, t in scored[:limit]]

    def _best(
        self, cands: Iterable[tuple[str, int]], left: str, right: str, base: float, limit: int
    ) -> list[tuple[str, int]]:
        scored = []
        for cand, ctype in cands:
            gain = self.stats.support(left, cand, right) - base
            if gain > 0:
                scored.append((gain, cand, ctype))
        scored.sort(reverse=True)
        return [(c, t) for _, c, t in scored[:limit]]

    def pairs(self, norm: str, i: int, limit: int) -> list[tuple[str, int]]:
        """Same-pinyin two-character words replacing both norm[i] and norm[i + 1]."""
        r1, r2 = self.readings.get(norm[i]), self.readings.get(norm[i + 1])
        if not r1 or not r2:
            return []
        orig = norm[i : i + 2]
        found: set[str] = set()
        for a in r1[:3]:
            for b in r2[:3]:
                for j in range(0, len(ws := self.homophones.get(f"{a} {b}", "")), 2):
                    w = ws[j : j + 2]
                    if w[0] != orig[0] and w[1] != orig[1]:
                        found.add(w)
        if not found:
            return []
        left = norm[i - 1] if i > 0 else _BOS
        right = norm[i + 2] if i + 2 < len(norm) else _EOS
        base = self.stats.support(left, orig, right)
        return self._best(((w, WORD_HOMOPHONE | SAME_PINYIN) for w in found), left, right, base, limit)

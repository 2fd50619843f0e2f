"""Offline Chinese spelling checker (错别字检查) for 公文 review.

Pipeline per sentence: every CJK character proposes confusable replacements (same pinyin, similar
sound or shape, pairs seen as errors in training); candidates that fit their neighbours no better
than the original are pruned; the rest are scored by a small boosted-tree classifier over LM and
word-dictionary evidence; a correction is reported only above a precision-oriented threshold.
No network, no model hub, CPU only; artifacts live in `data/` next to this file (see SOURCE.md).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field

from haoban.apps.gongwen.spelling.classifier import TreeEnsemble
from haoban.apps.gongwen.spelling.model import (
    CJK,
    FREE,
    SAME_PINYIN,
    SIMILAR_SHAPE,
    SIMILAR_SOUND,
    WORD_HOMOPHONE,
    Generator,
    Stats,
    WordModel,
    features,
    normalize_for_lm,
)

_DATA = resources.files("haoban.apps.gongwen.spelling") / "data"
# Candidates kept per position after pruning (more rarely changes the decision, costs time).
CANDIDATES_PER_POSITION = 5
WORD_CANDIDATES_PER_POSITION = 3
# Longest piece handed to the scorer at once; longer sentences are cut (context loss is tiny).
_MAX_PIECE = 200
# A character pair the author wrote this often in one document is a term of theirs, not a slip.
_REPEATED = 2
_SPACES = " \u3000\xa0"


class Correction(BaseModel):
    """One suggested fix; start/end are code-point offsets into the checked text (end exclusive)."""

    start: int
    end: int
    wrong: str
    suggestion: str
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str


def _reason(wrong: str, right: str, ctype: int, context: str, offset: int) -> str:
    if ctype & WORD_HOMOPHONE:
        kind = "同音词误用"
    elif ctype & FREE:
        kind = "疑似错别字"
    elif ctype & (SAME_PINYIN | SIMILAR_SOUND) and not ctype & SIMILAR_SHAPE:
        kind = "音近字误用"
    elif ctype & SIMILAR_SHAPE and not ctype & (SAME_PINYIN | SIMILAR_SOUND):
        kind = "形近字误用"
    elif ctype & SIMILAR_SHAPE:
        kind = "音近形近字误用"
    else:
        kind = "疑似错别字"
    # Quote the word around the error so the clerk sees it in context.
    a, b = max(0, offset - 1), min(len(context), offset + len(wrong) + 1)
    before = context[a:b]
    after = before[: offset - a] + right + before[offset - a + len(wrong) :]
    return f"{kind}：“{before}”应为“{after}”"


Scored = tuple[int, str, float, int]  # (index, replacement, probability, confusion type)


def select(scored: list[Scored], threshold: float) -> list[Scored]:
    """Non-overlapping fixes above the threshold, surest first, sorted by position.

    Fixes may not touch either: two fixes side by side are almost always one wrong word judged
    twice, and a real two-character slip is proposed as one same-pinyin word candidate."""
    kept: list[Scored] = []
    for s in sorted((s for s in scored if s[2] >= threshold), key=lambda s: -s[2]):
        lo, hi = s[0], s[0] + len(s[1])
        if all(hi < k[0] or lo > k[0] + len(k[1]) for k in kept):
            kept.append(s)
    return sorted(kept)


class SpellChecker:
    def __init__(self, generator: Generator, model: TreeEnsemble | None, threshold: float) -> None:
        self.generator = generator
        self.stats = generator.stats
        self.words = generator.words
        self.model = model
        self.threshold = threshold

    def candidates(self, norm: str, i: int) -> list[tuple[str, int]]:
        # A character set off by spaces is a spaced-out name or heading (黄  卫、目  录), not prose.
        if (i > 0 and norm[i - 1] in _SPACES) or (i + 1 < len(norm) and norm[i + 1] in _SPACES):
            return []
        gen = self.generator
        out = gen.chars(norm, i, CANDIDATES_PER_POSITION)
        if i + 1 < len(norm) and CJK.match(norm[i + 1]):
            out += gen.pairs(norm, i, WORD_CANDIDATES_PER_POSITION)
        return out

    def score_many(self, sentences: list[str]) -> list[list[Scored]]:
        """Every candidate of every sentence with its probability of being the right fix."""
        assert self.model is not None
        rows: list[list[float]] = []
        where: list[tuple[int, int, str, int]] = []
        first: dict[str, int] = {}  # repeated pieces (headings, boilerplate) are scored once
        for n, sentence in enumerate(sentences):
            if first.setdefault(sentence, n) != n:
                continue
            norm = normalize_for_lm(sentence)
            cache: dict[tuple[int, int], tuple[float, float, int, float]] = {}
            for m in CJK.finditer(norm):
                i = m.start()
                for cand, ctype in self.candidates(norm, i):
                    rows.append(features(self.stats, self.words, norm, i, cand, ctype, cache))
                    where.append((n, i, cand, ctype))
        out: list[list[Scored]] = [[] for _ in sentences]
        # One batched pass over the trees is far cheaper than walking them per candidate.
        for (n, i, cand, ctype), p in zip(where, self.model.batch_proba(rows), strict=True):
            out[n].append((i, cand, float(p), ctype))
        return [out[first[s]] for s in sentences]

    # -- public API ---------------------------------------------------------------------------

    def check(self, text: str) -> list[Correction]:
        """Corrections for text of any length; positions refer to `text` itself."""
        from haoban.text.sentences import split_sentences

        if not text:
            return []
        pieces: list[tuple[int, str]] = []
        for start, end in split_sentences(text):
            for a in range(start, end, _MAX_PIECE):
                piece = text[a : min(end, a + _MAX_PIECE)]
                if CJK.search(piece):
                    pieces.append((a, piece))
        found: list[tuple[int, str, str, float, int, str, int]] = []
        scored = self.score_many([p for _, p in pieces])
        for (a, piece), cands in zip(pieces, scored, strict=True):
            for i, cand, p, ctype in select(cands, self.threshold):
                found.append((a + i, text[a + i : a + i + len(cand)], cand, p, ctype, piece, i))
        if not found:
            return []
        # A "typo" the author wrote the same way several times is a name or term, not a slip.
        bigrams = Counter(text[j : j + 2] for j in range(len(text) - 1))
        result = []
        for pos, wrong, cand, p, ctype, piece, i in found:
            around = [
                text[pos - 1 : pos + 1],
                text[pos : pos + 2],
                text[pos + len(wrong) - 1 : pos + len(wrong) + 1],
            ]
            if any(len(g) == 2 and bigrams[g] >= _REPEATED for g in around):
                continue
            result.append(
                Correction(
                    start=pos,
                    end=pos + len(wrong),
                    wrong=wrong,
                    suggestion=cand,
                    confidence=round(min(1.0, max(0.0, p)), 4),
                    reason=_reason(wrong, cand, ctype, piece, i),
                )
            )
        return result

    def correct(self, sentence: str) -> str:
        """The sentence with every reported correction applied."""
        out, last = [], 0
        for c in self.check(sentence):
            out += [sentence[last : c.start], c.suggestion]
            last = c.end
        return "".join(out) + sentence[last:]


# -- loading ------------------------------------------------------------------------------------


def _read_counts(name: str) -> dict[str, int]:
    # "gram<TAB>count" lines; grams never contain tabs or newlines. Split once, pair up in C.
    fields = (_DATA / name).read_text(encoding="utf-8").replace("\t", "\n").split("\n")
    if fields and not fields[-1]:
        fields.pop()
    return dict(zip(fields[::2], map(int, fields[1::2]), strict=True))


def load_json(name: str) -> Any:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


def word_model() -> WordModel:
    # Shares the jieba dictionary (with the project's domain words) already loaded for search.
    from haoban.text.segment import _tokenizer

    tok = _tokenizer()
    return WordModel(tok.FREQ, tok.total)


def load_checker() -> SpellChecker:
    lm = _read_counts("lm.txt")
    uni = {g: n for g, n in lm.items() if len(g) == 1}
    bi = {g: n for g, n in lm.items() if len(g) == 2}
    tri = {g: n for g, n in lm.items() if len(g) == 3}
    errors = load_json("errors.json")
    dict_ngrams = _read_counts("dict_ngrams.txt")
    stats = Stats(
        uni=uni,
        bi=bi,
        tri=tri,
        dict_bi=dict_ngrams,
        confusion={k: (v[0], v[1]) for k, v in load_json("confusion.json").items()},
        pair_err=errors["pairs"],
        char_err=errors["chars"],
    )
    # Dictionary bigrams now live in the pruning index; only the character counts are read later.
    stats.dict_bi = {g: n for g, n in dict_ngrams.items() if len(g) == 1}
    del dict_ngrams
    spec = load_json("classifier.json")
    pinyin = load_json("pinyin.json")
    generator = Generator(stats, word_model(), pinyin["readings"], pinyin["homophones"])
    return SpellChecker(generator, TreeEnsemble(spec), float(spec["threshold"]))


_lock = threading.Lock()


@cache
def _cached() -> SpellChecker:
    return load_checker()


def get_spell_checker() -> SpellChecker:
    """The process-wide checker, loaded on first use (about a second)."""
    with _lock:
        return _cached()


__all__ = ["Correction", "SpellChecker", "get_spell_checker"]

"""Answering from an imported question–answer pair (问答对) when the question is that pair's question.

The stored answer was written by officials for exactly that question, so it is given whole (not three
sentences picked out of it) and cited as that entry. The match is safe first; a question matches an entry
when all of these hold:

1. the entry is among the top FAQ_TOP search hits;
2. against its standard question or one of its similar questions, every content word on either side is
   present on the other side (a word counts as present when it occurs in the other text, or the other side
   has it in a short form of at least three characters: 公积金 for 住房公积金). Only a few filler words
   (办理, 需要 …) may be missing. So 租房/购房, 补办/首次办理, 个人/企业 and 材料/条件 never match: one
   decisive word differs;
3. the idf-weighted share of words present on both sides is at least MIN_SCORE;
4. no other matching entry among all the hits (with a different answer) comes within MARGIN of that score;
   the same words in another order may ask something else (什么是个人账户资金定向使用 / 个人账户资金为什么
   定向使用), so a question asked word for word as an entry's (punctuation and spacing aside) is only
   rivalled by another entry asked word for word.

Otherwise nothing changes: the question is answered from sentences of the hits, or refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from haoban.apps.qa.question import ASPECT_FACTOR, ASPECT_WORDS, alternatives, content_words, idf
from haoban.text.normalize import normalize

FAQ_TOP = 3  # the entry must be among this many best hits
MIN_SCORE = 0.8
MARGIN = 0.1
MIN_SHORT_FORM = 3  # 公积金 stands for 住房公积金; 保险 does not stand for 医疗保险
# Words whose absence does not change what is asked (办理身份证 / 身份证): they may be missing on either side.
FILLER = frozenset("办理 申请 需要 不能 的话 问题 情况 相关 有关 具体 详细 一下 事项".split())

MAX_ANSWER_CHARS = 600  # a longer answer is given up to a sentence end, with a pointer to the whole entry
MORE_TEXT = "（答复较长，以上为开头部分，完整答复请查看所引问答对。）"
_SENTENCE_END = re.compile(r"[。！？!?；;]|\n")
_NOT_WORD = re.compile(r"[\W_]+")

DocFreq = Callable[[list[str]], tuple[int, dict[str, int]]]


@dataclass(frozen=True)
class FaqEntry:
    document_id: str
    chunk_id: str  # the chunk the answer starts in
    question: str
    aliases: tuple[str, ...]
    answer: str  # the document text, exactly as stored: citation spans index into it
    issuer: str | None = None
    rank: int = 0  # position of its best hit

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.aliases)


@dataclass(frozen=True)
class FaqMatch:
    entry: FaqEntry
    phrasing: str  # the standard question or the similar question that matched
    score: float
    runner_up: float  # the next matching entry's score (0 when none)


@dataclass(frozen=True)
class _Comparison:
    score: float
    missing: tuple[str, ...]  # decisive words present on one side only


def _verbatim(text: str) -> str:
    return _NOT_WORD.sub("", normalize(text))


def _covered(word: str, other_words: list[str], other_norm: str) -> bool:
    if word in other_norm or any(a in other_norm for a in alternatives(word)):
        return True
    return any(len(u) >= MIN_SHORT_FORM and u in word for u in other_words)


def _compare(q_words: list[str], q_norm: str, p_words: list[str], p_norm: str, weight: dict[str, float]) -> _Comparison:
    missing = [w for w in q_words if not _covered(w, p_words, p_norm)]
    missing += [w for w in p_words if not _covered(w, q_words, q_norm)]
    total = sum(weight[w] for w in q_words) + sum(weight[w] for w in p_words)
    score = 1.0 - sum(weight[w] for w in missing) / total if total else 0.0
    return _Comparison(round(score, 4), tuple(w for w in missing if w not in FILLER))


def _weights(words: list[str], doc_freq: DocFreq | None) -> dict[str, float]:
    """Inverse document frequency over the searched bases (a word they never contain weighs most); aspect
    words (材料, 条件 …) at half weight as in the question analysis, and filler words too."""
    n, df = doc_freq(words) if doc_freq and words else (0, {})
    out = {}
    for w in words:
        weight = idf(n, df.get(w) or 1) if n else 1.0
        out[w] = weight * (ASPECT_FACTOR if w in ASPECT_WORDS or w in FILLER else 1.0)
    return out


def match_faq(question: str, entries: list[FaqEntry], doc_freq: DocFreq | None = None) -> FaqMatch | None:
    """The entry whose question (or a similar question) is this question, or None; see the module docstring."""
    entries = [e for e in entries if e.answer.strip()]
    q_words = content_words(question)
    if not any(e.rank < FAQ_TOP for e in entries) or not any(w not in FILLER for w in q_words):
        return None  # a question of filler words alone (怎么办理？) is nobody's paraphrase
    phrasing_words = {p: content_words(p) for e in entries for p in e.phrasings}
    weight = _weights(list(dict.fromkeys(q_words + [w for ws in phrasing_words.values() for w in ws])), doc_freq)
    q_norm, q_verbatim = normalize(question), _verbatim(question)
    best: list[tuple[bool, float, int, FaqEntry, str]] = []  # per matching entry: its best phrasing
    for e in entries:
        found: tuple[bool, float, str] | None = None
        for p in e.phrasings:
            c = _compare(q_words, q_norm, phrasing_words[p], normalize(p), weight)
            if not c.missing and c.score >= MIN_SCORE:
                key = (_verbatim(p) == q_verbatim, c.score, p)
                found = max(found, key, key=lambda k: k[:2]) if found else key
        if found:
            best.append((found[0], found[1], -e.rank, e, found[2]))
    if not best:
        return None
    best.sort(key=lambda b: b[:3], reverse=True)
    verbatim, score, _, entry, phrasing = best[0]
    if entry.rank >= FAQ_TOP:
        return None  # the best fit is not among the top hits: retrieval does not back it
    # The same answer imported twice (two files, two bases) is one answer, not a rival.
    rivals = [b[1] for b in best[1:] if b[3].answer.strip() != entry.answer.strip() and (b[0] or not verbatim)]
    runner_up = rivals[0] if rivals else 0.0
    if score - runner_up < MARGIN:
        return None  # two entries fit about equally well: not clear which one was asked
    return FaqMatch(entry, phrasing, score, runner_up)


def answer_span(answer: str) -> tuple[int, int, bool]:
    """[start, end) of the answer given in the text, and whether it is cut short.

    The whole answer without surrounding blanks; a long one up to its last sentence end within
    MAX_ANSWER_CHARS (or at the limit when a single sentence runs past half of it).
    """
    start = len(answer) - len(answer.lstrip())
    end = len(answer.rstrip())
    if end - start <= MAX_ANSWER_CHARS:
        return start, end, False
    limit = start + MAX_ANSWER_CHARS
    ends = [m.end() for m in _SENTENCE_END.finditer(answer, start, limit)]
    cut = ends[-1] if ends and ends[-1] - start >= MAX_ANSWER_CHARS // 2 else limit
    while cut > start and answer[cut - 1].isspace():
        cut -= 1
    return start, cut, True

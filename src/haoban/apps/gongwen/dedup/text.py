"""Sentences of a 公文 for duplicate checking: split, skip what is too short or boilerplate, normalise.

Normalisation (for matching only; spans always index the original text): NFKC (full-width → half-width),
lower case, traditional → simplified by character, then everything that is not a letter or digit is
dropped (punctuation, symbols, whitespace). So “，”/“,”、“；”/“。”、全角数字 and stray spaces never make
two copies of a sentence look different.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from haoban.text.fold import fold_codes, normalize, pack
from haoban.text.sentences import split_sentences

MIN_CJK = 8  # a sentence with fewer Chinese characters than this says too little to be "copied"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_DROP = re.compile(r"[\W_]+")  # after NFKC: punctuation, symbols and whitespace
_PARAGRAPH_BREAK = re.compile(r"\n|\r\n?|\u2029|\u3000\u3000")
BOILERPLATE_FILE = Path(__file__).with_name("boilerplate.txt")


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def _wide_letters(norm: str) -> int:
    """Characters of a normalised sentence outside Latin/Greek/Cyrillic — in 公文, the Chinese ones.

    (UTF-8 takes 3 bytes for U+0800–U+FFFF and 4 beyond; a normalised sentence holds only letters and digits.)
    """
    return (len(norm.encode()) - len(norm)) // 2


@dataclass(frozen=True)
class Boilerplate:
    """Sentences never counted as duplicates: exact phrases (normalised) and full-match patterns."""

    phrases: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    _joined: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def load(cls, *paths: Path) -> Boilerplate:
        phrases: set[str] = set()
        patterns: list[re.Pattern[str]] = []
        for path in paths:
            if not path.is_file():
                continue
            for raw in path.read_text(encoding="utf-8").splitlines():
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("re:"):
                    patterns.append(re.compile(line[3:]))
                elif norm := normalize(line):
                    phrases.add(norm)
        return cls(frozenset(phrases), tuple(patterns))

    def __contains__(self, norm: str) -> bool:
        if norm in self.phrases:
            return True
        if self._joined is None:
            joined = "|".join(f"(?:{p.pattern})" for p in self.patterns)
            object.__setattr__(self, "_joined", re.compile(joined) if joined else re.compile(r"(?!)"))
        return self._joined.fullmatch(norm) is not None


@lru_cache(maxsize=1)
def default_boilerplate() -> Boilerplate:
    return Boilerplate.load(BOILERPLATE_FILE)


class Sentence(NamedTuple):
    start: int  # [start, end) in the original text
    end: int
    norm: str
    paragraph: int  # 0-based index of the paragraph (non-empty line) the sentence is in
    compound: bool = False  # clauses joined by ；into one sentence (see checkable_sentences)


def paragraph_starts(text: str) -> list[int]:
    """Start offsets of the paragraphs: after each line break or 　　 indent that is followed by text."""
    starts = [0]
    for m in _PARAGRAPH_BREAK.finditer(text):
        starts.append(m.end())
    return starts


_SEMI = "；;"
_CLOSERS = "”’」』）)》〉】]"
_BREAKS = re.compile(r"[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]|\u3000\u3000")


def _groups(text: str, spans: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Runs of spans joined by ；/; on one line: the sentences a reader sees (the splitter also cuts at ；)."""
    groups: list[list[tuple[int, int]]] = []
    for span in spans:
        if groups:
            prev = groups[-1][-1]
            joined = text[prev[0] : prev[1]].rstrip(_CLOSERS)[-1:] in _SEMI
            if joined and not _BREAKS.search(text, prev[1], span[0]):
                groups[-1].append(span)
                continue
        groups.append([span])
    return groups


def checkable_sentences(
    text: str, *, min_cjk: int = MIN_CJK, boilerplate: Boilerplate | None = None
) -> tuple[list[Sentence], int]:
    """The units worth checking, and how many sentences were skipped (too short or boilerplate).

    Units are the splitter's sentences (which end at ；too) and, where clauses are joined by ；, also the
    whole joined sentence (`compound`). Both sides of a check get both, so a copy is found whether the
    clerk turned ；into ，(the draft's sentence matches the source's compound) or ，into ；(the draft's
    compound matches the source's sentence), or copied a single clause.
    """
    boilerplate = boilerplate if boilerplate is not None else default_boilerplate()
    starts = paragraph_starts(text)
    # Paragraph numbers count only paragraphs that hold a sentence, so blank lines do not shift them.
    para_of_break: dict[int, int] = {}
    out: list[Sentence] = []
    skipped = 0

    folded = fold_codes(text)

    def unit(start: int, end: int, compound: bool) -> Sentence | None:
        brk = bisect.bisect_right(starts, start) - 1
        para = para_of_break.setdefault(brk, len(para_of_break))
        norm = pack(folded[start:end])
        if _wide_letters(norm) < min_cjk or norm in boilerplate:
            return None
        return Sentence(start, end, norm, para, compound)

    for group in _groups(text, split_sentences(text)):
        kept = 0
        for start, end in group:
            if s := unit(start, end, False):
                out.append(s)
                kept += 1
            else:
                skipped += 1
        if len(group) > 1 and (s := unit(group[0][0], group[-1][1], True)):
            out.append(s)
            skipped -= len(group) - kept  # its short clauses are checked after all, as part of it
    return out, skipped

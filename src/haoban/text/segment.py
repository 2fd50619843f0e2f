"""Word segmentation for search: jieba plus the project's domain dictionary, with stop words removed.

A private jieba.Tokenizer keeps our dictionary out of the global jieba state other code may use.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import cache
from importlib import resources

import jieba

from haoban.text.normalize import normalize

jieba.setLogLevel(logging.WARNING)

_DICT_DIR = resources.files("haoban.text") / "dict"
# Tokens worth indexing: a run of CJK, letters or digits (punctuation and spaces are dropped).
_WORDLIKE = re.compile(r"[\w\u3400-\u9fff]", re.UNICODE)
_lock = threading.Lock()


@cache
def stopwords() -> frozenset[str]:
    lines = (_DICT_DIR / "stopwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@cache
def _tokenizer() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    for line in (_DICT_DIR / "domain.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, freq, tag = (line.split() + ["", ""])[:3]
            tok.add_word(word, int(freq) if freq else None, tag or None)
    return tok


def warm_up() -> None:
    """Load dictionaries now (about a second) rather than on the first search."""
    with _lock:
        _tokenizer()


def cut(text: str, *, hmm: bool = True) -> list[str]:
    """Plain segmentation of normalised text (punctuation kept out). ``hmm=False`` skips jieba's guessing of
    unknown words: about twice as fast, for callers (classifiers) that also see character n-grams."""
    with _lock:
        tok = _tokenizer()
    return [w for w in tok.lcut(normalize(text), HMM=hmm) if _WORDLIKE.search(w)]


def tokenize(text: str) -> list[str]:
    """Search tokens: jieba's search mode (long words also yield their parts), stop words removed."""
    with _lock:
        tok = _tokenizer()
    stop = stopwords()
    return [w for w in tok.cut_for_search(normalize(text)) if w not in stop and _WORDLIKE.search(w) and not w.isspace()]


# Character bigrams are indexed next to the words under this mark, so a bigram never meets a word of the
# same two characters (the two kinds have very different frequencies).
BIGRAM_MARK = "#"
_CJK_RUN = re.compile(r"[\u3400-\u9fff]{2,}")


def char_bigrams(text: str) -> list[str]:
    """Overlapping two-character tokens of every run of Chinese characters, marked with BIGRAM_MARK.

    jieba often splits a phrase differently in a question and in a passage (北京市 / 京市, 增值税 / 增值);
    bigrams still match then. On the policy QA benchmark they ranked better than words alone.
    """
    return [BIGRAM_MARK + run[i : i + 2] for run in _CJK_RUN.findall(normalize(text)) for i in range(len(run) - 1)]


def query_tokens(text: str) -> tuple[list[str], list[str]]:
    """A query's words and its character bigrams, both without stop words.

    Words come from plain segmentation, not search mode: the parts search mode adds for a long query word
    (京市 from 北京市, 通运 from 交通运输) match unrelated passages. Bigrams do not span a stop word, so
    question words (如何, 哪些, 是否 …) add nothing.
    """
    stop = stopwords()
    words: list[str] = []
    bigrams: list[str] = []
    run = ""
    with _lock:
        tok = _tokenizer()
    for w in [*tok.lcut(normalize(text)), ""]:
        if w and w not in stop and _WORDLIKE.search(w) and not w.isspace():
            words.append(w)
            run += w
            continue
        bigrams += char_bigrams(run)
        run = ""
    return words, bigrams

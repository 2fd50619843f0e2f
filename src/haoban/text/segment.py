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

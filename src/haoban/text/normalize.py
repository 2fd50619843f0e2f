"""Text normalisation for matching (never for stored text: citations index the original)."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalize(text: str) -> str:
    """NFKC (full-width letters/digits → half-width), lower case, zero-width characters removed."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()


@cache
def t2s_chars() -> dict[str, str]:
    """Traditional → simplified, one character to one character (OpenCC's TSCharacters table, first
    choice), so a folded text keeps every position of the original."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        src, _, dst = line.partition("\t")
        first = dst.split(" ")[0] if dst else ""
        if len(src) == 1 and len(first) == 1 and first != src:
            table[src] = first
    return table

"""The matching form of text: letters and digits only, half-width, lower case, simplified.

Character by character, so positions map back to the original. Used where two copies of a text must
match whatever their punctuation, spacing or full-width digits: the 公文 duplicate check (sentences) and
the knowledge base's copy detection (whole documents).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import numpy as np

from haoban.text.normalize import t2s_chars


def _fold_char(code: int) -> int:
    """One character's matching form as one code point; 0 drops it (punctuation, symbols, spaces)."""
    folded = unicodedata.normalize("NFKC", chr(code)).lower()
    folded = "".join(t2s_chars().get(c, c) for c in folded)
    kept = [c for c in folded if c.isalnum()]
    return ord(kept[0]) if kept else 0  # rare expansions (㎡ → m2) keep their first character


@lru_cache(maxsize=1)
def _bmp_table() -> np.ndarray:
    """Folded code point of every BMP character (built once, ~0.3 s); astral characters are kept as they are."""
    return np.fromiter((_fold_char(c) for c in range(0x10000)), dtype=np.uint32, count=0x10000)


def fold_codes(text: str) -> np.ndarray:
    """Folded code points of `text`, position for position (0 where a character is dropped)."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _bmp_table()
    return np.where(codes < 0x10000, table[np.minimum(codes, 0xFFFF)], codes)


def pack(folded: np.ndarray) -> str:
    return folded[folded != 0].tobytes().decode("utf-32-le", "surrogatepass")


def normalize(text: str) -> str:
    """The matching form of a sentence: only letters and digits, half-width, lower case, simplified.

    Character by character (NFKC of each character), through one lookup table, so a whole document is
    folded in one numpy pass and each sentence is a slice of it.
    """
    return pack(fold_codes(text))

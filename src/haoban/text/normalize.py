"""Text normalisation for matching (never for stored text: citations index the original)."""

from __future__ import annotations

import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def normalize(text: str) -> str:
    """NFKC (full-width letters/digits → half-width), lower case, zero-width characters removed."""
    return unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()

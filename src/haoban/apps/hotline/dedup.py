"""Same-incident detection: near-duplicate text, close in time, at the same place.

Text similarity is cosine over TF-IDF of character 2–3-grams fitted on the candidate set (cheap, and
robust to the rewording of a second caller). A pair counts as the same incident when the text is
similar enough and, when both have a place, the places agree; time decays the score over a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from haoban.apps.hotline.classify import prepare_text

SIMILAR = 0.55  # text cosine at or above which two tickets are candidates
WINDOW_DAYS = 7.0  # beyond this the same words are more likely a new incident


@dataclass
class Candidate:
    index: int
    text_similarity: float
    score: float
    same_place: bool | None
    hours_apart: float


def _vectors(texts: list[str]):
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True)
    return vec.fit_transform([prepare_text(t) for t in texts])


def place_match(a: list[str] | None, b: list[str] | None) -> bool | None:
    if not a or not b:
        return None
    return bool(set(a) & set(b))


def find_similar(
    text: str,
    when: datetime,
    places: list[str],
    candidates: list[tuple[str, datetime, list[str]]],
    *,
    threshold: float = SIMILAR,
    top: int = 5,
) -> list[Candidate]:
    """Rank `candidates` (text, time, places) as possible duplicates of the new ticket."""
    if not candidates:
        return []
    x = _vectors([text] + [c[0] for c in candidates])
    sims = cosine_similarity(x[0], x[1:]).ravel()
    found = []
    for i, sim in enumerate(sims):
        if sim < threshold * 0.8:
            continue
        _, t, p = candidates[i]
        hours = abs((when - t).total_seconds()) / 3600
        same = place_match(places, p)
        if same is False:
            continue
        decay = max(0.0, 1 - hours / (24 * WINDOW_DAYS))
        score = float(sim) * (0.6 + 0.4 * decay) + (0.1 if same else 0.0)
        if score >= threshold:
            found.append(Candidate(i, round(float(sim), 4), round(min(score, 1.0), 4), same, round(hours, 1)))
    found.sort(key=lambda c: -c.score)
    return found[:top]

"""智能查重: sentence-level near-duplicate search of a draft 公文 against a corpus, with sources.

    from haoban.apps.gongwen.dedup import DedupIndex, DedupService

`DedupIndex` is one corpus on disk (add / remove / check); `DedupService` picks the corpus for an actor
(the archive of past documents, or a knowledge base kept in sync) and checks permissions.
"""

from haoban.apps.gongwen.dedup.index import (
    DEFAULT_THRESHOLD,
    MAX_CHECK_CHARS,
    DedupIndex,
    DocInput,
    similarity,
)
from haoban.apps.gongwen.dedup.schemas import (
    DedupDocument,
    DedupReport,
    DedupSource,
    DedupStats,
    DuplicatedSentence,
    SyncReport,
)

_LAZY = {"ARCHIVE", "DedupService"}  # the service pulls in the knowledge engine; the index alone does not


def __getattr__(name: str):
    if name in _LAZY:
        from haoban.apps.gongwen.dedup import service

        return getattr(service, name)
    raise AttributeError(name)


__all__ = [
    "ARCHIVE",
    "DEFAULT_THRESHOLD",
    "MAX_CHECK_CHARS",
    "DedupDocument",
    "DedupIndex",
    "DedupReport",
    "DedupService",
    "DedupSource",
    "DedupStats",
    "DocInput",
    "DuplicatedSentence",
    "SyncReport",
    "similarity",
]

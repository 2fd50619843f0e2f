"""The service the fronts call: choose a corpus, keep knowledge-base corpora in sync, check, register.

Corpora (the `corpus` argument):
- "archive" — 全部往来公文: documents registered with the 公文 toolkit (`register`), one corpus per deployment.
  A registered document remembers its department (the registering actor's, unless given); a check only
  cites sources from the checker's own department branch (上级、下级、本级) and platform-wide ones.
- "kb:<知识库名称或 ID>" — the documents of one knowledge base. The actor must be able to read the base
  (otherwise it looks absent, as everywhere in the platform). The corpus is a derived copy under
  data_dir/gongwen/dedup/kb-<kb id>/, refreshed incrementally before each check: nothing to do when the
  base's generation has not moved, else only documents whose content hash or update time changed are
  re-read, and documents gone from the base are removed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from haoban.apps.gongwen.dedup.index import DEFAULT_THRESHOLD, TOP_SOURCES, DedupIndex, DocInput
from haoban.apps.gongwen.dedup.schemas import DedupDocument, DedupReport, DedupStats, SyncReport
from haoban.errors import InvalidInput, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM, Actor, authorize, within
from haoban.store.models import Document, KnowledgeBase

ARCHIVE = "archive"
KB_PREFIX = "kb:"
_FETCH = 200  # documents read from the knowledge base per query during a sync


def _same_branch(a: str | None, b: str | None) -> bool:
    return within(a, b) or within(b, a)


class DedupService:
    def __init__(self, knowledge: KnowledgeService, root: Path | None = None):
        self.knowledge = knowledge
        self.root = root or knowledge.settings.data_dir / "gongwen" / "dedup"
        self._indexes: dict[str, DedupIndex] = {}
        self._lock = threading.Lock()
        self._sync_locks: dict[str, threading.Lock] = {}

    def close(self) -> None:
        with self._lock:
            for idx in self._indexes.values():
                idx.close()
            self._indexes.clear()

    def index(self, corpus_id: str) -> DedupIndex:
        """The (cached) index of a corpus directory; no permission check: callers resolve the corpus first."""
        with self._lock:
            idx = self._indexes.get(corpus_id)
            if idx is None:
                idx = self._indexes[corpus_id] = DedupIndex(self.root / corpus_id, corpus_id=corpus_id)
            return idx

    def resolve(self, corpus: str, *, actor: Actor = SYSTEM) -> tuple[str, str | None]:
        """(corpus directory id, knowledge base id or None) after the permission checks."""
        authorize(actor, "gongwen.use")
        corpus = (corpus or "").strip()
        if corpus == ARCHIVE:
            return ARCHIVE, None
        if corpus.startswith(KB_PREFIX) and corpus[len(KB_PREFIX) :].strip():
            kb_id = self.knowledge.kb_id(
                corpus[len(KB_PREFIX) :].strip(), actor=actor
            )  # NotFound if unreadable
            return f"kb-{kb_id}", kb_id
        raise NotFound(
            f"查重语料库“{corpus}”不存在：请选择 archive（全部往来公文）或 kb:知识库名称",
            code="DEDUP_CORPUS_NOT_FOUND",
        )

    # ---- knowledge-base corpora ------------------------------------------------------------------

    def sync_kb(
        self,
        kb_ref: str,
        *,
        actor: Actor = SYSTEM,
        full: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncReport:
        """Bring the corpus of a knowledge base up to date (only new, changed and deleted documents).
        ``progress(documents done, documents to do)`` after each batch."""
        corpus_id, kb_id = self.resolve(f"{KB_PREFIX}{kb_ref}", actor=actor)
        assert kb_id is not None
        return self._sync(corpus_id, kb_id, full=full, progress=progress)

    def _sync(
        self,
        corpus_id: str,
        kb_id: str,
        *,
        full: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> SyncReport:
        t0 = time.perf_counter()
        report = SyncReport(corpus_id=corpus_id, kb_id=kb_id)
        idx = self.index(corpus_id)
        with self._lock:
            lock = self._sync_locks.setdefault(corpus_id, threading.Lock())
        with lock:
            with self.knowledge.db.session() as s:
                kb = s.get(KnowledgeBase, kb_id)
                if kb is None:
                    raise NotFound("知识库不存在", code="KB_NOT_FOUND")
                state = f"{kb_id}:{kb.generation}"
                if not full and idx.source_state == state:
                    report.unchanged = len(idx)
                    report.seconds = round(time.perf_counter() - t0, 4)
                    return report
                rows = s.execute(
                    select(Document.id, Document.content_hash, Document.updated_at).where(
                        Document.kb_id == kb_id
                    )
                ).all()
            if full:
                idx.clear()
            current = {r[0]: f"{r[1]}:{r[2].isoformat()}" for r in rows}
            have = idx.versions()
            gone = [d for d in have if d not in current]
            todo = [d for d, v in current.items() if have.get(d) != v]
            report.removed = idx.remove_many(gone) if gone else 0
            report.updated = sum(1 for d in todo if d in have)
            report.added = len(todo) - report.updated
            report.unchanged = len(current) - len(todo)
            if todo:
                step = (lambda done, _sentences: progress(done, len(todo))) if progress else None
                idx.add_many(self._kb_documents(kb_id, todo, current), progress=step)
            idx.set_source_state(state)
        report.seconds = round(time.perf_counter() - t0, 4)
        return report

    def _kb_documents(self, kb_id: str, doc_ids: list[str], versions: dict[str, str]) -> Iterator[DocInput]:
        for i in range(0, len(doc_ids), _FETCH):
            part = doc_ids[i : i + _FETCH]
            with self.knowledge.db.session() as s:
                rows = s.execute(
                    select(
                        Document.id, Document.title, Document.text, Document.issuer, Document.doc_number,
                        Document.written_date,
                    ).where(Document.kb_id == kb_id, Document.id.in_(part))
                ).all()  # fmt: skip
            for doc_id, title, text, issuer, number, written in rows:
                meta = {"kb_id": kb_id, "issuer": issuer, "doc_number": number,
                        "written_date": written.isoformat() if written else None}  # fmt: skip
                yield DocInput(doc_id, title or "", text or "", meta, versions[doc_id])

    # ---- the archive of past documents -----------------------------------------------------------

    def register(
        self,
        doc_id: str,
        title: str,
        text: str,
        meta: dict[str, Any] | None = None,
        *,
        actor: Actor = SYSTEM,
    ) -> DedupDocument:
        """Add (or replace) a document in the archive corpus."""
        authorize(actor, "gongwen.use")
        if not text or not text.strip():
            raise InvalidInput("登记的公文正文为空", code="DEDUP_EMPTY_TEXT")
        meta = dict(meta or {})
        meta.setdefault("department", actor.department_path)
        doc = self.index(ARCHIVE).add(doc_id, title, text, meta)
        self.knowledge.audit.record(actor, "gongwen.dedup.register", "dedup", doc_id, input=title)
        return doc

    def register_many(self, docs: Iterable[DocInput], *, actor: Actor = SYSTEM) -> int:
        authorize(actor, "gongwen.use")

        def stamped() -> Iterator[DocInput]:
            for d in docs:
                d.meta = dict(d.meta or {})
                d.meta.setdefault("department", actor.department_path)
                yield d

        n = self.index(ARCHIVE).add_many(stamped())
        self.knowledge.audit.record(actor, "gongwen.dedup.register", "dedup", None, detail={"documents": n})
        return n

    def unregister(self, doc_id: str, *, actor: Actor = SYSTEM) -> None:
        authorize(actor, "gongwen.use")
        idx = self.index(ARCHIVE)
        doc = idx.get(doc_id)
        if doc is None or not self._may_see(actor, doc.meta):
            raise NotFound("查重库中没有该文档", code="DEDUP_DOC_NOT_FOUND")
        idx.remove(doc_id)
        self.knowledge.audit.record(actor, "gongwen.dedup.unregister", "dedup", doc_id)

    @staticmethod
    def _may_see(actor: Actor, meta: dict[str, Any]) -> bool:
        if actor.kind == "system" or actor.department_path is None:
            return True
        dept = meta.get("department")
        return dept is None or _same_branch(actor.department_path, dept)

    # ---- checking --------------------------------------------------------------------------------

    def check(
        self,
        text: str,
        *,
        corpus: str = ARCHIVE,
        actor: Actor = SYSTEM,
        threshold: float = DEFAULT_THRESHOLD,
        exclude_doc_ids: Iterable[str] = (),
        top_sources: int = TOP_SOURCES,
        sync: bool = True,
    ) -> DedupReport:
        """Check a draft against a corpus; see DedupIndex.check for the report."""
        corpus_id, kb_id = self.resolve(corpus, actor=actor)
        if kb_id is not None and sync:
            self._sync(corpus_id, kb_id)
        allow = None
        if corpus_id == ARCHIVE and not (actor.kind == "system" or actor.department_path is None):
            allow = lambda _doc_id, meta: self._may_see(actor, meta)  # noqa: E731
        report = self.index(corpus_id).check(
            text, threshold=threshold, exclude_doc_ids=exclude_doc_ids, top_sources=top_sources, allow=allow
        )
        self.knowledge.audit.record(
            actor, "gongwen.dedup.check", "dedup", corpus_id, input=text,
            detail={"ratio": report.duplicate_ratio, "sentences": report.checked_sentences,
                    "duplicated": len(report.duplicated_sentences)},
        )  # fmt: skip
        return report

    def stats(self, corpus: str = ARCHIVE, *, actor: Actor = SYSTEM) -> DedupStats:
        corpus_id, _ = self.resolve(corpus, actor=actor)
        return self.index(corpus_id).stats()

"""Knowledge bases and documents: ingest, update, delete, and the index views search reads.

Every front (library, CLI, API, console) goes through this class; nothing else writes chunks or indexes.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, func, select, update

from haoban.config import Settings, get_settings
from haoban.errors import (
    Conflict,
    FileTooLarge,
    HaobanError,
    InvalidInput,
    NotFound,
    ParseError,
    UnsupportedFormat,
)
from haoban.knowledge import copies, faq, retokenise
from haoban.knowledge.faq import FaqColumns, FaqPair, read_faq
from haoban.knowledge.index import (
    LEXICAL_FORMAT,
    DenseView,
    KBView,
    Segment,
    read_segment,
    segment_format,
    write_segment,
)
from haoban.knowledge.parse import (
    SUPPORTED_SUFFIXES,
    ParsedDocument,
    extract_metadata,
    parse_bytes,
    parse_file,
    read_limited,
)
from haoban.knowledge.prepare import (
    PreparedDocument,
    embedding_input,
    headline,
    indexed_title,
    prepare,
    text_hash,
)
from haoban.knowledge.retokenise import TokeniserProcess
from haoban.knowledge.schemas import (
    DocumentInfo,
    DocumentMeta,
    DocumentText,
    EmbedProgress,
    FaqImportReport,
    FaqMissing,
    FaqOutcome,
    FaqSheet,
    FaqSkipped,
    FileOutcome,
    IndexUpgradeProgress,
    IngestReport,
    KBInfo,
    SearchResult,
)
from haoban.knowledge.search import search as search_impl
from haoban.llm.embeddings import Embedder, make_embedder
from haoban.logs import get_logger, log_event
from haoban.safety.audit import AuditLog
from haoban.safety.auth import SYSTEM, Actor, Resource, allowed, authorize
from haoban.safety.guard import Guard, load_topic_rules
from haoban.safety.keys import load_secret
from haoban.safety.lexicon import LexiconService
from haoban.safety.models import Department, KbGrant
from haoban.safety.users import UserService
from haoban.store.db import Database
from haoban.store.models import Chunk, Document, Embedding, KnowledgeBase, LexicalSegment, new_id
from haoban.text.segment import char_bigrams

log = get_logger("knowledge")

Progress = Callable[[int, int, str], None]  # (done, total, current item)

MAX_SEGMENTS = 8  # more segments than this and the small ones are merged
BATCH_CHUNKS = 5000  # chunks written per transaction / segment during bulk ingest
MAX_KB_NAME = 100
UPGRADE_BATCH = 500  # chunks re-tokenised per transaction when rebuilding older-format segments
UPGRADE_RETRY_SECONDS = 60  # after a failed rebuild, wait this long before the next search tries again
UPGRADE_IN_SUBPROCESS = True  # tokenise in a child process (haoban/knowledge/retokenise.py says why)
ORPHAN_SECONDS = 3600  # segment directories without a database row, older than this, are left from a crash
VISIBILITIES = {"public": "公开", "internal": "内部", "restricted": "受限"}

# Prebuilt statements for the per-search permission check (resolve a base by id or name, with its
# department path and grants).
_KB_COLUMNS = (KnowledgeBase.id, KnowledgeBase.visibility, KnowledgeBase.department_id, Department.path)
_KB_BY_REF = (
    select(*_KB_COLUMNS)
    .outerjoin(Department, Department.id == KnowledgeBase.department_id)
    .where((KnowledgeBase.id == bindparam("ref")) | (KnowledgeBase.name == bindparam("ref")))
)
_KB_ALL = select(*_KB_COLUMNS).outerjoin(Department, Department.id == KnowledgeBase.department_id).order_by(KnowledgeBase.created_at)
_GRANTS_OF = select(KbGrant.principal_type, KbGrant.principal_id, KbGrant.level).where(KbGrant.kb_id == bindparam("kb_id"))
_GRANTS_ALL = select(KbGrant.kb_id, KbGrant.principal_type, KbGrant.principal_id, KbGrant.level)
_SET_TOKENS = update(Chunk.__table__).where(Chunk.__table__.c.id == bindparam("cid")).values(tokens=bindparam("tok"))
_KB_GENERATIONS = select(KnowledgeBase.generation, KnowledgeBase.vector_generation).where(KnowledgeBase.id == bindparam("kb_id"))


def _row_resource(row: Any, grants: Iterable[tuple[str, str, str]]) -> Resource:
    if row.department_id and row.path is None:
        # The owning department row is gone: fail closed (platform-wide administrators only) rather than read
        # the base as platform-wide.
        return Resource("kb", row.id, department_path="\x00", visibility="restricted")
    return Resource("kb", row.id, department_path=row.path, visibility=row.visibility, grants=tuple(grants))


@dataclass
class _Upgrade:
    """This process's background rebuild of one base's older-format segments."""

    done: int = 0
    total: int = 0
    error: str | None = None
    failed_at: float | None = None
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


def _has_new_tokens(title: str | None, heading_path: str, text: str, tokens: str) -> bool:
    """Whether a chunk's stored tokens already hold the character bigrams the current format adds, so a rebuild
    that was cut short (crash, restart) does not tokenise them again. Words are the same in both formats."""
    want = char_bigrams(title or "") + char_bigrams(heading_path) + char_bigrams(text)
    if not want:
        return True
    have = set(tokens.split())
    return all(b in have for b in want)


@dataclass
class TextItem:
    """A document given as text (no file), e.g. from another system or the demo corpus."""

    text: str
    source: str
    meta: DocumentMeta | None = None
    format: str = "txt"


def _mask_for_audit(text: str) -> str:
    from haoban.safety.pii import mask

    return mask(text, "tag").text


def _doc_info(d: Document) -> DocumentInfo:
    return DocumentInfo.model_validate(d, from_attributes=True)


class KnowledgeService:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None | str = "auto"):
        self.settings = settings or get_settings()
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.settings.db_url)
        self.db.migrate()
        # The platform-wide safety services live here because every app already holds this service.
        self.users = UserService(self.db, load_secret(self.settings, "session"), self.settings.session_hours)
        self.audit = AuditLog(self.db, load_secret(self.settings, "audit"), masker=_mask_for_audit)
        self.lexicon = LexiconService(self.db, audit=self.audit)
        self.guard = Guard(self.lexicon, load_topic_rules(self.settings.data_dir))
        self.embedder: Embedder | None = make_embedder(self.settings) if embedder == "auto" else embedder  # type: ignore[assignment]
        self._views: dict[str, KBView] = {}
        self._segment_formats: dict[str, int] = {}  # segment id → LEXICAL_FORMAT it was written in
        self._view_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._upgrades: dict[str, _Upgrade] = {}
        self._upgrade_lock = threading.Lock()
        self._closing = threading.Event()

    def close(self) -> None:
        # A rebuild stops between batches; what it wrote so far is kept and the next start resumes from there.
        self._closing.set()
        for st in list(self._upgrades.values()):
            if st.thread is not None:
                st.thread.join(timeout=30)
        self.db.dispose()

    def search(self, query: str, kbs: list[str] | None = None, *, actor: Actor = SYSTEM, **kwargs: Any) -> SearchResult:
        """Hybrid search with citations over the bases `actor` may read; see haoban.knowledge.search.search."""
        kb_ids = [self.kb_id(ref, actor=actor) for ref in kbs] if kbs else self.readable_kb_ids(actor)
        result = search_impl(self, query, kb_ids, **kwargs)
        self.audit.record(actor, "kb.search", "kb", ",".join(kb_ids)[:200], input=query,
                          detail={"hits": len(result.hits), "mode": kwargs.get("mode", "hybrid")})  # fmt: skip
        return result

    # ---- permissions -----------------------------------------------------------------------------

    def _kb_resource(self, s: Any, kb: KnowledgeBase) -> Resource:
        path = s.get(Department, kb.department_id).path if kb.department_id else None
        grants = tuple(
            (g.principal_type, g.principal_id, g.level) for g in s.scalars(select(KbGrant).where(KbGrant.kb_id == kb.id))
        )
        return Resource("kb", kb.id, department_path=path, visibility=kb.visibility, grants=grants)

    def _authorize_kb(self, s: Any, kb: KnowledgeBase, actor: Actor, action: str) -> None:
        self._authorize_resource(self._kb_resource(s, kb), actor, action)

    @staticmethod
    def _authorize_resource(res: Resource, actor: Actor, action: str) -> None:
        """Bases the actor cannot read look absent (404), so their names and existence do not leak."""
        if action != "kb.read" and allowed(actor, "kb.read", res):
            authorize(actor, action, res)
        elif not allowed(actor, action, res):
            raise NotFound("知识库不存在", code="KB_NOT_FOUND")

    def readable_kb_ids(self, actor: Actor = SYSTEM) -> list[str]:
        # Two queries for all bases (not two per base): this runs on every search that names no base.
        with self.db.engine.connect() as conn:
            rows = conn.execute(_KB_ALL).all()
            grants: dict[str, list[tuple[str, str, str]]] = {}
            for kb_id, *grant in conn.execute(_GRANTS_ALL):
                grants.setdefault(kb_id, []).append(tuple(grant))
        return [r.id for r in rows if allowed(actor, "kb.read", _row_resource(r, grants.get(r.id, ())))]

    # ---- knowledge bases -------------------------------------------------------------------------

    def create_kb(
        self,
        name: str,
        description: str = "",
        *,
        visibility: str = "internal",
        department: str | None = None,
        actor: Actor = SYSTEM,
    ) -> KBInfo:
        name = (name or "").strip()
        if not name or len(name) > MAX_KB_NAME or any(c in name for c in "/\\\x00"):
            raise InvalidInput("知识库名称不能为空、不超过 100 字，且不能包含 / 或 \\", code="KB_NAME_INVALID")
        if visibility not in VISIBILITIES:
            raise InvalidInput("可见范围须为 public（公开）、internal（内部）或 restricted（受限）", code="KB_VISIBILITY_INVALID")
        with self.db.session() as s:
            dept = self._department(s, department, actor)
            authorize(actor, "kb.admin", Resource("kb", department_path=dept.path if dept else None, visibility=visibility))
            if s.scalar(select(KnowledgeBase).where(KnowledgeBase.name == name)):
                raise Conflict(f"知识库“{name}”已存在", code="KB_EXISTS")
            kb = KnowledgeBase(name=name, description=description or "", visibility=visibility, department_id=dept.id if dept else None)
            s.add(kb)
            s.flush()
            info = self._kb_info(s, kb)
        self.audit.record(actor, "kb.create", "kb", info.id, input=name, detail={"visibility": visibility})
        return info

    def _department(self, s: Any, ref: str | None, actor: Actor) -> Department | None:
        """The department a new base belongs to: the one named, else the creator's own."""
        if ref is None:
            return s.get(Department, actor.department_id) if actor.department_id else None
        d = s.get(Department, ref) or s.scalar(select(Department).where(Department.path == ref))
        if d is None:
            raise NotFound(f"部门不存在：{ref}", code="DEPARTMENT_NOT_FOUND")
        return d

    def update_kb(
        self,
        ref: str,
        *,
        description: str | None = None,
        visibility: str | None = None,
        department: str | None = None,
        actor: Actor = SYSTEM,
    ) -> KBInfo:
        """Change a base's description, visibility or owning department (administrators of that department)."""
        if visibility is not None and visibility not in VISIBILITIES:
            raise InvalidInput("可见范围须为 public（公开）、internal（内部）或 restricted（受限）", code="KB_VISIBILITY_INVALID")
        with self.db.session() as s:
            kb = self._resolve_kb(s, ref)
            self._authorize_kb(s, kb, actor, "kb.admin")
            if department is not None:
                dept = self._department(s, department or None, actor) if department else None
                authorize(actor, "kb.admin", Resource("kb", department_path=dept.path if dept else None))
                kb.department_id = dept.id if dept else None
            if description is not None:
                kb.description = description
            if visibility is not None:
                kb.visibility = visibility
            s.flush()
            info = self._kb_info(s, kb)
        self.audit.record(actor, "kb.update", "kb", info.id, detail={"visibility": visibility, "department": department})
        return info

    def list_kbs(self, *, actor: Actor = SYSTEM) -> list[KBInfo]:
        with self.db.session() as s:
            kbs = s.scalars(select(KnowledgeBase).order_by(KnowledgeBase.created_at)).all()
            return [self._kb_info(s, kb) for kb in kbs if allowed(actor, "kb.read", self._kb_resource(s, kb))]

    def get_kb(self, ref: str, *, actor: Actor = SYSTEM) -> KBInfo:
        with self.db.session() as s:
            kb = self._resolve_kb(s, ref)
            self._authorize_kb(s, kb, actor, "kb.read")
            return self._kb_info(s, kb)

    def kb_id(self, ref: str, *, actor: Actor = SYSTEM, action: str = "kb.read") -> str:
        # Runs for every base named in every search: plain statements on one connection, no ORM objects. Nothing
        # is cached, so a grant, visibility or department change (from any process) applies to the next call.
        with self.db.engine.connect() as conn:
            rows = conn.execute(_KB_BY_REF, {"ref": ref}).all()
            if not rows:
                raise NotFound(f"知识库“{ref}”不存在", code="KB_NOT_FOUND")
            row = next((r for r in rows if r.id == ref), rows[0])  # an id wins over another base's same name
            grants = tuple(tuple(g) for g in conn.execute(_GRANTS_OF, {"kb_id": row.id}))
        self._authorize_resource(_row_resource(row, grants), actor, action)
        return row.id

    def delete_kb(self, ref: str, *, actor: Actor = SYSTEM) -> None:
        with self._write_lock, self.db.session() as s:
            kb = self._resolve_kb(s, ref)
            self._authorize_kb(s, kb, actor, "kb.admin")
            kb_id = kb.id
            s.delete(kb)
        self.audit.record(actor, "kb.delete", "kb", kb_id)
        shutil.rmtree(self._kb_dir(kb_id), ignore_errors=True)
        with self._view_lock:
            self._views.pop(kb_id, None)
        log_event(log, "kb deleted", kb_id=kb_id)

    def _resolve_kb(self, s: Any, ref: str) -> KnowledgeBase:
        kb = s.get(KnowledgeBase, ref) or s.scalar(select(KnowledgeBase).where(KnowledgeBase.name == ref))
        if kb is None:
            raise NotFound(f"知识库“{ref}”不存在", code="KB_NOT_FOUND")
        return kb

    def _kb_info(self, s: Any, kb: KnowledgeBase) -> KBInfo:
        docs = s.scalar(select(func.count()).select_from(Document).where(Document.kb_id == kb.id)) or 0
        chunks = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.kb_id == kb.id)) or 0
        return KBInfo(
            id=kb.id,
            name=kb.name,
            description=kb.description,
            document_count=docs,
            chunk_count=chunks,
            vector_ready=self._vector_ready(s, Chunk.kb_id == kb.id),
            visibility=kb.visibility,
            department_id=kb.department_id,
            created_at=kb.created_at,
        )

    def _kb_dir(self, kb_id: str) -> Path:
        return self.settings.index_dir / kb_id

    # ---- ingest ----------------------------------------------------------------------------------

    def ingest_paths(
        self,
        kb_ref: str,
        paths: Iterable[Path],
        meta: DocumentMeta | None = None,
        progress: Progress | None = None,
        *,
        actor: Actor = SYSTEM,
    ) -> IngestReport:
        """Ingest files and folders (recursively). A bad file is reported and skipped; the batch goes on."""
        kb_id = self.kb_id(kb_ref, actor=actor, action="kb.write")
        files = list(self._expand(paths))
        report = IngestReport(kb_id=kb_id)
        t0 = time.perf_counter()

        def items() -> Iterator[tuple[str, Callable[[], ParsedDocument]]]:
            for f in files:
                yield str(f), (lambda f=f: parse_file(f, max_bytes=self.settings.max_file_bytes, max_chars=self.settings.max_text_chars))

        self._ingest(kb_id, items(), len(files), meta, report, progress)
        report.seconds = round(time.perf_counter() - t0, 3)
        self._audit_ingest(actor, "kb.ingest", report)
        return report

    def _audit_ingest(self, actor: Actor, action: str, report: IngestReport) -> None:
        self.audit.record(actor, action, "kb", report.kb_id,
                          input=[f.source for f in report.files][:50],
                          detail={"added": report.added, "replaced": report.replaced, "failed": report.failed})  # fmt: skip

    def ingest_uploads(
        self, kb_ref: str, uploads: list[tuple[str, bytes]], meta: DocumentMeta | None = None, *, actor: Actor = SYSTEM
    ) -> IngestReport:
        """Ingest uploaded files (name, content). Only the base name of an upload is kept as its source."""
        kb_id = self.kb_id(kb_ref, actor=actor, action="kb.write")
        report = IngestReport(kb_id=kb_id)
        t0 = time.perf_counter()

        def items() -> Iterator[tuple[str, Callable[[], ParsedDocument]]]:
            for name, data in uploads:
                safe = Path(name.replace("\\", "/")).name or "upload"
                yield (
                    f"upload:{safe}",
                    lambda d=data, n=safe: parse_bytes(d, n, max_bytes=self.settings.max_file_bytes, max_chars=self.settings.max_text_chars),
                )

        self._ingest(kb_id, items(), len(uploads), meta, report, None)
        report.seconds = round(time.perf_counter() - t0, 3)
        self._audit_ingest(actor, "kb.upload", report)
        return report

    def add_texts(
        self, kb_ref: str, items: list[TextItem], progress: Progress | None = None, *, actor: Actor = SYSTEM
    ) -> IngestReport:
        """Add documents given as text, with their metadata (e.g. a corpus exported from another system)."""
        kb_id = self.kb_id(kb_ref, actor=actor, action="kb.write")
        report = IngestReport(kb_id=kb_id)
        t0 = time.perf_counter()
        def parsed(item: TextItem) -> ParsedDocument:
            if len(item.text) > self.settings.max_text_chars:
                raise FileTooLarge(f"文本超过 {self.settings.max_text_chars} 字的上限", detail={"file": item.source})
            found = extract_metadata(item.text, (item.meta.title if item.meta else None))
            # A text item's source is often an opaque id: its own first line names it better.
            found["title"] = found.get("title") or headline(item.text) or None
            return ParsedDocument(text=item.text, format=item.format, extra={}, **found)

        def gen() -> Iterator[tuple[str, Callable[[], ParsedDocument]]]:
            for item in items:
                yield item.source, (lambda it=item: parsed(it))

        per_item = {it.source: it.meta for it in items}
        self._ingest(kb_id, gen(), len(items), None, report, progress, per_item_meta=per_item)
        report.seconds = round(time.perf_counter() - t0, 3)
        self._audit_ingest(actor, "kb.add_texts", report)
        return report

    def import_faq(
        self,
        kb_ref: str,
        file: Path | bytes,
        name: str | None = None,
        *,
        sheet: str | None = None,
        columns: FaqColumns | None = None,
        encoding: str | None = None,
        remove_missing: bool = False,
        progress: Progress | None = None,
        actor: Actor = SYSTEM,
    ) -> FaqImportReport:
        """Import question–answer pairs (问答对) from an XLSX, CSV or JSONL file; see knowledge/faq.py.

        Each pair becomes one document (format "faq"): title = the question, text = the answer, aliases = the
        similar questions, tags = [category], issuer = department, publish_date = date. Its source is the file
        name + normalised question, so importing an updated file again replaces changed answers in place (the
        usual atomic re-ingest) and leaves unchanged ones alone. Pairs imported from a file of the same name
        earlier but no longer in it are deleted only with remove_missing; otherwise they are kept and reported.
        A file-level problem (format, columns, encoding, size) raises; a bad row is skipped and reported.
        """
        kb_id = self.kb_id(kb_ref, actor=actor, action="kb.write")
        t0 = time.perf_counter()
        if isinstance(file, Path):
            if file.is_dir():
                raise InvalidInput(f"“{file}”是文件夹，请指定一个问答对文件", code="FAQ_NOT_A_FILE")
            data = read_limited(file, self.settings.max_file_bytes)
            name = name or file.name
        else:
            data = bytes(file)
            if len(data) > self.settings.max_file_bytes:
                raise FileTooLarge(f"文件超过 {self.settings.max_file_mb:g} MB 的上限", detail={"file": name})
        # Only the base name counts (an upload's path or "..\\" must not reach the source key).
        name = Path((name or "faq").replace("\\", "/")).name or "faq"
        table = read_faq(data, name, sheet=sheet, columns=columns, max_rows=self.settings.faq_max_rows, encoding=encoding)
        pairs = {faq.source_key(name, p.question): p for p in table.pairs}

        def parsed(p: FaqPair) -> ParsedDocument:
            return ParsedDocument(text=p.answer, format="faq", title=p.question, issuer=p.department, publish_date=p.date,
                                  extra={"faq": {"file": name}}, aliases=p.similar)  # fmt: skip

        items = ((src, (lambda p=p: parsed(p))) for src, p in pairs.items())
        per_item = {
            src: DocumentMeta(title=p.question, issuer=p.department, publish_date=p.date, tags=[p.category] if p.category else [])
            for src, p in pairs.items()
        }
        ingest = IngestReport(kb_id=kb_id)
        self._ingest(kb_id, items, len(pairs), None, ingest, progress, per_item_meta=per_item)

        report = FaqImportReport(
            kb_id=kb_id, file=name, format=table.format, encoding=table.encoding, pairs=len(pairs),
            sheets=[FaqSheet(name=s.name, columns=s.columns, rows=s.rows) for s in table.sheets],
            ignored_sheets=table.ignored_sheets, guarded=ingest.guarded,
            skipped_rows=[FaqSkipped(sheet=k.sheet, row=k.row, reason=k.reason, question=k.question) for k in table.skipped],
        )  # fmt: skip
        report.skipped = len(report.skipped_rows)
        status = {"added": "added", "replaced": "updated", "unchanged": "unchanged", "failed": "failed"}
        for f in ingest.files:
            p = pairs[f.source]
            report.items.append(FaqOutcome(question=p.question, status=status[f.status], document_id=f.document_id,  # type: ignore[arg-type]
                                           sheet=p.sheet, row=p.row, message=f.message))  # fmt: skip
        report.items.sort(key=lambda o: (faq.table_order(table, o.sheet), o.row))
        report.added, report.updated, report.unchanged, report.failed = ingest.added, ingest.replaced, ingest.unchanged, ingest.failed
        # A row whose answer was emptied (or that failed) still names its pair: not taken as gone from the file.
        present = set(pairs) | {faq.source_key(name, k.question) for k in table.skipped if k.question}
        self._faq_missing(kb_id, name, present, remove_missing and bool(pairs), report)
        if remove_missing and not pairs:
            report.notice = "文件中没有有效的问答对，未删除知识库中的任何问答对"
        report.seconds = round(time.perf_counter() - t0, 3)
        self.audit.record(actor, "kb.faq_import", "kb", kb_id, input=name,
                          detail={"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
                                  "removed": report.removed, "skipped": report.skipped, "failed": report.failed})  # fmt: skip
        return report

    def _faq_missing(self, kb_id: str, name: str, present: set[str], remove: bool, report: FaqImportReport) -> None:
        """Pairs imported earlier from a file of this name that it no longer holds: deleted in one transaction
        (remove), or listed and kept."""
        prefix = faq.source_prefix(name)
        with self._write_lock:
            with self.db.session() as s:
                rows = s.execute(
                    select(Document.id, Document.source, Document.title).where(Document.kb_id == kb_id, Document.format == "faq")
                ).all()
                gone = [(i, t) for i, src, t in rows if src.startswith(prefix) and src not in present]
                report.missing_pairs = [FaqMissing(document_id=i, question=t) for i, t in gone]
                if not gone or not remove:
                    report.missing = len(gone)
                    return
                kb = s.get(KnowledgeBase, kb_id, with_for_update=True)
                for i in range(0, len(gone), 500):
                    ids = [d for d, _ in gone[i : i + 500]]
                    s.execute(delete(Chunk).where(Chunk.document_id.in_(ids)))
                    s.execute(delete(Document).where(Document.id.in_(ids)))
                kb.generation += 1
            report.removed = len(gone)
        log_event(log, "faq pairs removed", kb_id=kb_id, file=name, removed=len(gone))
        self._maybe_compact(kb_id)

    def _expand(self, paths: Iterable[Path]) -> Iterator[Path]:
        for p in paths:
            p = Path(p)
            if p.is_dir():
                for f in sorted(p.rglob("*")):
                    if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES and not f.name.startswith((".", "~$")):
                        yield f
            else:
                yield p  # a missing or unsupported file is reported as a failure by the parser step

    def _ingest(
        self,
        kb_id: str,
        items: Iterable[tuple[str, Callable[[], ParsedDocument]]],
        total: int,
        meta: DocumentMeta | None,
        report: IngestReport,
        progress: Progress | None,
        per_item_meta: dict[str, DocumentMeta | None] | None = None,
    ) -> None:
        batch: list[PreparedDocument] = []
        batch_chunks = 0
        done = 0
        for source, load in items:
            try:
                parsed = self._load(source, load)
                parsed = self._guarded(source, parsed, report)
                item_meta = (per_item_meta or {}).get(source) or meta
                doc = prepare(
                    source,
                    parsed.format,
                    parsed.text,
                    self._guarded_names(source, self._merge_meta(parsed, item_meta, source), report),
                    parsed.extra,
                    self.settings.chunk_size,
                    self.settings.chunk_overlap,
                )
                batch.append(doc)
                batch_chunks += len(doc.chunks)
            except HaobanError as err:
                report.files.append(FileOutcome(source=source, status="failed", code=err.code, message=err.message))
                report.failed += 1
                log_event(log, "ingest failed", source=source, code=err.code)
            done += 1
            if progress:
                progress(done, total, source)
            if batch_chunks >= BATCH_CHUNKS:
                self._commit_batch(kb_id, batch, report)
                batch, batch_chunks = [], 0
        if batch:
            self._commit_batch(kb_id, batch, report)
        self._maybe_compact(kb_id)

    def _guarded(self, source: str, parsed: ParsedDocument, report: IngestReport) -> ParsedDocument:
        """Personal identifiers are masked before a document is stored; flagged wording is reported for review
        (the document is still stored: 公文 quote what they forbid). Answers quoting it pass the output check."""
        decision = self.guard.check_upload(parsed.text)
        if decision.findings:
            report.guarded.append({"source": source, **decision.summary()})
        if decision.text != parsed.text:
            parsed.text = decision.text
        return parsed

    def _guarded_names(self, source: str, meta: dict[str, Any], report: IngestReport) -> dict[str, Any]:
        """A title and a document's other names are shown and indexed like its text, so identifiers in them are
        masked too: an FAQ question or a similar question may quote a caller's phone number."""
        for key in ("title", "aliases"):
            if meta.get(key):
                decision = self.guard.check_upload(meta[key])
                if decision.findings:
                    report.guarded.append({"source": source, "field": key, **decision.summary()})
                meta[key] = decision.text
        return meta

    @staticmethod
    def _load(source: str, load: Callable[[], ParsedDocument]) -> ParsedDocument:
        try:
            return load()
        except HaobanError:
            raise
        except FileNotFoundError as exc:
            raise NotFound("文件不存在", code="FILE_NOT_FOUND", detail={"file": source}) from exc
        except IsADirectoryError as exc:
            raise UnsupportedFormat(detail={"file": source}) from exc
        except OSError as exc:
            raise ParseError(f"读取文件失败：{exc.strerror or exc}", detail={"file": source}) from exc

    @staticmethod
    def _merge_meta(parsed: ParsedDocument, meta: DocumentMeta | None, source: str) -> dict[str, Any]:
        given = meta.model_dump(exclude_none=True) if meta else {}
        title = given.get("title") or parsed.title or Path(source.removeprefix("upload:")).stem or "未命名文档"
        return {
            "title": title[:500],
            "issuer": given.get("issuer", parsed.issuer),
            "doc_number": given.get("doc_number", parsed.doc_number),
            "written_date": given.get("written_date", parsed.written_date),
            "publish_date": given.get("publish_date", parsed.publish_date),
            "validity": given.get("validity", "current"),
            "tags": given.get("tags", []),
            "url": given.get("url"),
            "aliases": "\n".join(parsed.aliases),
        }

    def _commit_batch(self, kb_id: str, batch: list[PreparedDocument], report: IngestReport) -> None:
        """Write one segment and one transaction for a batch: a document is either fully in or not at all."""
        with self._write_lock:
            with self.db.session() as s:
                existing = {
                    d.source: d
                    for d in s.scalars(
                        select(Document).where(Document.kb_id == kb_id, Document.source.in_([b.source for b in batch]))
                    )
                }
            fresh: list[PreparedDocument] = []
            seen: set[str] = set()
            for doc in batch:
                old = existing.get(doc.source)
                if doc.source in seen:
                    continue  # the same source twice in one batch: the first one wins
                seen.add(doc.source)
                if old is not None and old.content_hash == doc.content_hash and self._same_meta(old, doc.meta):
                    report.unchanged += 1
                    report.files.append(FileOutcome(source=doc.source, status="unchanged", document_id=old.id, chunks=old.chunk_count))
                    continue
                fresh.append(doc)
            if not fresh:
                return

            seg_id = new_id()
            doc_ids = {d.source: (existing[d.source].id if d.source in existing else new_id()) for d in fresh}
            sigs = dict(zip([d.source for d in fresh], copies.signatures([d.text for d in fresh]), strict=True))
            chunk_ids = {d.source: [new_id() for _ in d.chunks] for d in fresh}
            seg_dir = self._kb_dir(kb_id) / seg_id
            seg_dir.parent.mkdir(parents=True, exist_ok=True)
            write_segment(
                seg_dir,
                [cid for d in fresh for cid in chunk_ids[d.source]],
                [doc_ids[d.source] for d in fresh for _ in d.chunks],
                [t for d in fresh for t in d.tokens],
            )
            try:
                with self.db.session() as s:
                    kb = s.get(KnowledgeBase, kb_id, with_for_update=True)
                    if kb is None:
                        raise NotFound("知识库已被删除", code="KB_NOT_FOUND")
                    for doc in fresh:
                        did = doc_ids[doc.source]
                        row = s.get(Document, did) if doc.source in existing else None
                        if row is None:
                            row = Document(id=did, kb_id=kb_id, source=doc.source)
                            s.add(row)
                        else:
                            s.execute(delete(Chunk).where(Chunk.document_id == did))
                        for key, value in doc.meta.items():
                            setattr(row, key, value)
                        row.format = doc.format
                        row.text = doc.text
                        row.content_hash = doc.content_hash
                        row.signature = sigs[doc.source]
                        row.char_count = len(doc.text)
                        row.chunk_count = len(doc.chunks)
                        row.extra = doc.extra
                    s.flush()  # documents first: chunks reference them
                    for doc in fresh:
                        did = doc_ids[doc.source]
                        s.add_all(
                            Chunk(
                                id=cid,
                                kb_id=kb_id,
                                document_id=did,
                                seq=i,
                                start=c.start,
                                end=c.end,
                                heading_path=c.heading_path[:500],
                                text=c.text,
                                tokens=" ".join(tok),
                                text_hash=h,
                                segment_id=seg_id,
                            )
                            for i, (cid, c, tok, h) in enumerate(
                                zip(chunk_ids[doc.source], doc.chunks, doc.tokens, doc.hashes, strict=True)
                            )
                        )
                    s.add(LexicalSegment(id=seg_id, kb_id=kb_id, chunk_count=sum(len(d.chunks) for d in fresh)))
                    kb.generation += 1
            except BaseException:
                shutil.rmtree(seg_dir, ignore_errors=True)
                raise
        for doc in fresh:
            replaced = doc.source in existing
            report.replaced += replaced
            report.added += not replaced
            report.chunks += len(doc.chunks)
            report.chars += len(doc.text)
            report.files.append(
                FileOutcome(
                    source=doc.source,
                    status="replaced" if replaced else "added",
                    document_id=doc_ids[doc.source],
                    chunks=len(doc.chunks),
                )
            )
        log_event(log, "batch ingested", kb_id=kb_id, documents=len(fresh), segment=seg_id)

    @staticmethod
    def _same_meta(row: Document, meta: dict[str, Any]) -> bool:
        return all(getattr(row, k) == v for k, v in meta.items())

    # ---- documents -------------------------------------------------------------------------------

    def list_documents(
        self, kb_ref: str, offset: int = 0, limit: int = 50, q: str | None = None, *, actor: Actor = SYSTEM
    ) -> tuple[int, list[DocumentInfo]]:
        if offset < 0 or not 1 <= limit <= 500:
            raise InvalidInput("分页参数不合法：offset ≥ 0，1 ≤ limit ≤ 500")
        with self.db.session() as s:
            kb = self._resolve_kb(s, kb_ref)
            self._authorize_kb(s, kb, actor, "kb.read")
            cond = [Document.kb_id == kb.id]
            if q:
                like = f"%{q.strip()}%"
                cond.append(Document.title.like(like) | Document.doc_number.like(like) | Document.source.like(like))
            total = s.scalar(select(func.count()).select_from(Document).where(*cond)) or 0
            rows = s.scalars(
                select(Document).where(*cond).order_by(Document.created_at.desc(), Document.id).offset(offset).limit(limit)
            ).all()
            infos = [_doc_info(d) for d in rows]
            ready = self._vector_ready_by_doc(s, [d.id for d in rows])
            for info in infos:
                info.vector_ready = ready.get(info.id, 0)
            return total, infos

    def _document(self, s: Any, doc_id: str, actor: Actor, action: str) -> Document:
        d = s.get(Document, doc_id)
        if d is None:
            raise NotFound("文档不存在", code="DOC_NOT_FOUND")
        try:
            self._authorize_kb(s, s.get(KnowledgeBase, d.kb_id), actor, action)
        except NotFound:
            raise NotFound("文档不存在", code="DOC_NOT_FOUND") from None
        return d

    def get_document(self, doc_id: str, *, actor: Actor = SYSTEM) -> DocumentText:
        with self.db.session() as s:
            doc = DocumentText.model_validate(self._document(s, doc_id, actor, "kb.read"), from_attributes=True)
        self.audit.record(actor, "kb.document.read", "document", doc_id)
        return doc

    def update_document(self, doc_id: str, meta: DocumentMeta, *, actor: Actor = SYSTEM) -> DocumentInfo:
        """Change metadata only (效力, tags, dates …). A new title changes what chunks are embedded with."""
        with self._write_lock, self.db.session() as s:
            d = self._document(s, doc_id, actor, "kb.write")
            changes = meta.model_dump(exclude_none=True)
            title_changed = "title" in changes and changes["title"] != d.title
            for key, value in changes.items():
                setattr(d, key, value)
            if title_changed:
                for c in s.scalars(select(Chunk).where(Chunk.document_id == d.id)):
                    c.text_hash = text_hash(embedding_input(indexed_title(d.title, d.aliases), c.heading_path, c.text))
            # Filters read document metadata, so cached filter results of every process must go.
            s.execute(
                update(KnowledgeBase)
                .where(KnowledgeBase.id == d.kb_id)
                .values(generation=KnowledgeBase.generation + 1, vector_generation=KnowledgeBase.vector_generation + 1)
            )
            s.flush()
            info = _doc_info(d)
        self.audit.record(actor, "kb.document.update", "document", doc_id, input=meta.model_dump(exclude_none=True, mode="json"))
        return info

    def delete_document(self, doc_id: str, *, actor: Actor = SYSTEM) -> None:
        with self._write_lock, self.db.session() as s:
            d = self._document(s, doc_id, actor, "kb.write")
            kb = s.get(KnowledgeBase, d.kb_id)
            s.delete(d)
            kb.generation += 1
            kb_id = kb.id
        self.audit.record(actor, "kb.document.delete", "document", doc_id)
        self._maybe_compact(kb_id)

    # ---- segment merging -------------------------------------------------------------------------

    def _maybe_compact(self, kb_id: str) -> None:
        """Merge segments when there are too many, or when many of their chunks were deleted."""
        with self.db.session() as s:
            segs = s.scalars(select(LexicalSegment).where(LexicalSegment.kb_id == kb_id)).all()
            alive = dict(
                s.execute(select(Chunk.segment_id, func.count()).where(Chunk.kb_id == kb_id).group_by(Chunk.segment_id)).all()
            )
        if not segs:
            return
        empty = [g.id for g in segs if alive.get(g.id, 0) == 0]
        sparse = [g.id for g in segs if 0 < alive.get(g.id, 0) < 0.6 * g.chunk_count]
        if len(segs) - len(empty) > MAX_SEGMENTS:
            # Keep the biggest segment when it holds most of the base; merge everything else into one.
            by_size = sorted(segs, key=lambda g: alive.get(g.id, 0), reverse=True)
            big = by_size[0]
            total = sum(alive.values())
            keep = {big.id} if alive.get(big.id, 0) > total / 2 and big.id not in sparse else set()
            merge = [g.id for g in segs if g.id not in keep and alive.get(g.id, 0) > 0]
        else:
            merge = sparse
        if empty or merge:
            self._merge_segments(kb_id, merge, empty)

    def _merge_segments(self, kb_id: str, merge: list[str], drop: list[str]) -> None:
        with self._write_lock:
            self._merge_segments_locked(kb_id, merge, drop, self._merged_format(kb_id, merge))

    def _merged_format(self, kb_id: str, seg_ids: list[str]) -> int:
        """The oldest format among segments being merged: their stored tokens may still be in it, and the merged
        segment must then be rebuilt like them (a compaction can run while a rebuild is half done). An unreadable
        segment counts as the oldest: rebuilding it from the chunks' text is always right."""
        return min((self._segment_format(kb_id, sid, unreadable=1) for sid in seg_ids), default=LEXICAL_FORMAT)

    def _merge_segments_locked(self, kb_id: str, merge: list[str], drop: list[str], fmt: int) -> None:
        """Merge segments into one from the chunks' stored tokens (caller holds the write lock). The new segment
        replaces the old ones in one transaction, so readers see either the old set or the new one."""
        new_seg = None
        if merge:
            with self.db.session() as s:
                rows = s.execute(
                    select(Chunk.id, Chunk.document_id, Chunk.tokens).where(Chunk.segment_id.in_(merge)).order_by(Chunk.id)
                ).all()
            new_seg = new_id()
            # One string object per distinct token: merging 100k chunks otherwise holds millions of copies.
            vocab: dict[str, str] = {}
            write_segment(
                self._kb_dir(kb_id) / new_seg,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [[vocab.setdefault(t, t) for t in r[2].split()] for r in rows],
                fmt,
            )
        with self.db.session() as s:
            kb = s.get(KnowledgeBase, kb_id, with_for_update=True)
            if kb is None:
                return
            gone = merge + drop
            if new_seg:
                s.execute(update(Chunk).where(Chunk.id.in_([r[0] for r in rows])).values(segment_id=new_seg))
                s.add(LexicalSegment(id=new_seg, kb_id=kb_id, chunk_count=len(rows)))
            s.execute(delete(LexicalSegment).where(LexicalSegment.id.in_(gone)))
            kb.generation += 1
        for seg in merge + drop:
            shutil.rmtree(self._kb_dir(kb_id) / seg, ignore_errors=True)
        log_event(log, "segments merged", kb_id=kb_id, merged=len(merge), dropped=len(drop), format=fmt)

    # ---- index views (per process cache) ----------------------------------------------------------

    def view(self, kb_id: str, with_dense: bool = True) -> KBView:
        """The current in-memory view of a base, reloaded only when its generation moved.

        Segments written in an older format (LEXICAL_FORMAT) are rebuilt in the background; until the rebuilt
        segment is swapped in, the view searches the base as it is (view.outdated).
        """
        view = self._view(kb_id, with_dense)
        if view.outdated:
            self._start_upgrade(kb_id)
        return view

    # ---- rebuilding older-format segments (background) ----------------------------------------------

    def index_upgrade_progress(self, kb_ref: str, *, actor: Actor = SYSTEM) -> IndexUpgradeProgress:
        """Whether the base still has older-format segments, and how far this process's rebuild got."""
        kb_id = self.kb_id(kb_ref, actor=actor)
        outdated = self._has_outdated_segments(kb_id)
        if outdated:
            self._start_upgrade(kb_id)
        st = self._upgrades.get(kb_id) or _Upgrade()
        return IndexUpgradeProgress(
            kb_id=kb_id, outdated=outdated, running=st.running, done=st.done, total=st.total, error=st.error
        )

    def _has_outdated_segments(self, kb_id: str) -> bool:
        """Whether a live segment of the base is in an older format, without loading the index: the console's
        knowledge-base page asks on every visit, and loading 100k chunks takes over a second."""
        with self.db.session() as s:
            seg_ids = list(s.scalars(select(LexicalSegment.id).where(LexicalSegment.kb_id == kb_id)))
        return any(self._segment_format(kb_id, sid) < LEXICAL_FORMAT for sid in seg_ids)

    def _segment_format(self, kb_id: str, seg_id: str, unreadable: int = LEXICAL_FORMAT) -> int:
        """The format a segment was written in; `unreadable` when its files are gone or broken (for progress: merged
        away just now, and loading the base reports a broken one)."""
        # A segment never changes once written (a rebuild or merge writes a new one), so its format is cached.
        fmt = self._segment_formats.get(seg_id)
        if fmt is None:
            try:
                fmt = segment_format(self._kb_dir(kb_id) / seg_id)
            except (FileNotFoundError, ValueError):
                return unreadable
            self._segment_formats[seg_id] = fmt
        return fmt

    def upgrade_status(self, kb_id: str) -> tuple[int, int] | None:
        """(done, total) chunks of a running rebuild of the base, None when none runs in this process."""
        st = self._upgrades.get(kb_id)
        return (st.done, st.total) if st is not None and st.running else None

    def wait_for_index_upgrades(self, timeout: float | None = None) -> bool:
        """Block until this process's rebuilds have finished (tests, command-line tools); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for st in list(self._upgrades.values()):
            if st.thread is not None:
                st.thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(st.running for st in self._upgrades.values())

    def _start_upgrade(self, kb_id: str) -> None:
        with self._upgrade_lock:
            st = self._upgrades.setdefault(kb_id, _Upgrade())
            if st.running or self._closing.is_set():
                return
            if st.failed_at is not None and time.monotonic() - st.failed_at < UPGRADE_RETRY_SECONDS:
                return
            st.thread = threading.Thread(target=self._run_upgrade, args=(kb_id, st), name=f"haoban-reindex-{kb_id}", daemon=True)
            st.thread.start()

    def _run_upgrade(self, kb_id: str, st: _Upgrade) -> None:
        t0 = time.monotonic()
        try:
            self._remove_orphans(kb_id)
            # A compaction may fold an outdated segment into a new one meanwhile (it keeps the old format):
            # look again after each pass; chunks already done are skipped, so a second pass is quick.
            for _ in range(3):
                outdated = [seg.id for seg in self._view(kb_id, False).segments if seg.format < LEXICAL_FORMAT]
                if not outdated or not self._upgrade_segments(kb_id, outdated, st):
                    break
            st.error, st.failed_at = None, None
            log_event(log, "lexical index upgraded", kb_id=kb_id, chunks=st.total, to_format=LEXICAL_FORMAT,
                      seconds=round(time.monotonic() - t0, 2))  # fmt: skip
        except NotFound:
            pass  # the base was deleted meanwhile
        except Exception as err:  # the old segments stay in use; the next search after a pause retries
            log.exception("lexical index upgrade failed")
            # Shown on the console and by the CLI: the project's Chinese message, else the cause as the system
            # gave it (the traceback with the exception class is in the log).
            reason = err.message if isinstance(err, HaobanError) else str(err) or "未知原因"
            st.error, st.failed_at = reason[:300], time.monotonic()

    def _upgrade_segments(self, kb_id: str, seg_ids: list[str], st: _Upgrade) -> bool:
        """Re-tokenise the chunks of older-format segments from their text, then merge them into one new segment.

        Indexes built before character bigrams were added (format 1) would otherwise lack them until every
        document is ingested again. Costs about what tokenising costs at ingest (jieba, roughly 3 s per 1000
        chunks on one core). Tokens are written batch by batch (ingest and search go on meanwhile); the old
        segments stay in use until the merge swaps the new one in, in one transaction. Returns False when it
        stopped early (closing) or found nothing left to do.
        """
        with self.db.session() as s:
            live = list(s.scalars(select(LexicalSegment.id).where(LexicalSegment.id.in_(seg_ids))))
            ids = list(s.scalars(select(Chunk.id).where(Chunk.segment_id.in_(live)).order_by(Chunk.id))) if live else []
        if not live:
            return False  # merged or dropped meanwhile
        st.done, st.total = 0, len(ids)
        child = [self._tokeniser_process()]  # a one-item list: dropped for the rest of the run if it fails
        try:
            for i in range(0, len(ids), UPGRADE_BATCH):
                if self._closing.is_set():
                    return False
                batch = ids[i : i + UPGRADE_BATCH]
                self._retokenise(batch, child)
                st.done += len(batch)
        finally:
            if child[0] is not None:
                child[0].close()
        with self._write_lock:
            # Chunks only ever leave these segments (merges write new ones), so every chunk still in them was
            # re-tokenised above.
            with self.db.session() as s:
                live = list(s.scalars(select(LexicalSegment.id).where(LexicalSegment.id.in_(live))))
                left = s.scalar(select(func.count()).select_from(Chunk).where(Chunk.segment_id.in_(live))) if live else 0
            if not live:
                return True  # a compaction took them: the caller looks again
            if left:
                self._merge_segments_locked(kb_id, live, [], LEXICAL_FORMAT)
            else:  # only deleted chunks were left in them
                self._merge_segments_locked(kb_id, [], live, LEXICAL_FORMAT)
        return True

    def _retokenise(self, chunk_ids: list[str], child: list[TokeniserProcess | None]) -> None:
        with self.db.session() as s:
            rows = s.execute(
                select(Chunk.id, Chunk.heading_path, Chunk.text, Chunk.tokens, Document.title, Document.aliases)
                .join(Document, Document.id == Chunk.document_id)
                .where(Chunk.id.in_(chunk_ids))
            ).all()
        # Chunks that already have the new tokens were done before an interruption.
        todo = [
            (cid, (title, path, text))
            for cid, path, text, old, title in ((r[0], r[1], r[2], r[3], indexed_title(r[4], r[5])) for r in rows)
            if not _has_new_tokens(title, path, text, old)
        ]
        if not todo:
            return
        inputs = [t for _, t in todo]
        tokens = None
        if child[0] is not None:
            try:
                tokens = child[0](inputs)
            except (OSError, ValueError):
                log.exception("tokeniser process failed; tokenising in this process from now on")
                child[0].close()
                child[0] = None
        if tokens is None:
            tokens = retokenise.tokenise(inputs)
        # By id, without a row-count check: a chunk deleted meanwhile just updates nothing.
        with self._write_lock, self.db.engine.begin() as conn:
            conn.execute(_SET_TOKENS, [{"cid": cid, "tok": tok} for (cid, _), tok in zip(todo, tokens, strict=True)])

    @staticmethod
    def _tokeniser_process() -> TokeniserProcess | None:
        if not UPGRADE_IN_SUBPROCESS:
            return None
        try:
            return TokeniserProcess()
        except OSError:
            log.exception("cannot start the tokeniser process; tokenising in this process")
            return None

    def _remove_orphans(self, kb_id: str) -> None:
        """Delete segment directories a crash left behind (written, never recorded in the database). Only old
        ones: another process may be between writing a segment and recording it."""
        kb_dir = self._kb_dir(kb_id)
        if not kb_dir.is_dir():
            return
        with self.db.session() as s:
            known = set(s.scalars(select(LexicalSegment.id).where(LexicalSegment.kb_id == kb_id)))
        for d in kb_dir.iterdir():
            if d.is_dir() and d.name.removesuffix(".tmp") not in known and time.time() - d.stat().st_mtime > ORPHAN_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
                log_event(log, "orphan segment removed", kb_id=kb_id, segment=d.name)

    def _view(self, kb_id: str, with_dense: bool) -> KBView:
        with self.db.engine.connect() as conn:
            gens = conn.execute(_KB_GENERATIONS, {"kb_id": kb_id}).first()
        if gens is None:
            raise NotFound("知识库不存在", code="KB_NOT_FOUND")
        gen, vgen = gens
        with self._view_lock:
            view = self._views.get(kb_id)
            if view is None or view.generation != gen:
                view = self._load_lexical(kb_id, gen, view)
                self._views[kb_id] = view
            stale = view.vector_generation != vgen
            if with_dense and self.embedder and stale and (view.vector_generation < 0 or view.dense.due_for_reload()):
                t0 = time.monotonic()
                view.dense = self._load_dense(kb_id)
                view.dense.load_seconds = time.monotonic() - t0
                view.vector_generation = vgen
            return view

    def _load_lexical(self, kb_id: str, gen: int, old: KBView | None) -> KBView:
        cached = {seg.id: seg for seg in (old.segments if old else [])}
        with self.db.session() as s:
            seg_ids = list(s.scalars(select(LexicalSegment.id).where(LexicalSegment.kb_id == kb_id).order_by(LexicalSegment.created_at)))
            alive_rows = s.execute(select(Chunk.segment_id, Chunk.id).where(Chunk.kb_id == kb_id)).all()
        by_seg: dict[str, list[str]] = {}
        for seg_id, cid in alive_rows:
            by_seg.setdefault(seg_id, []).append(cid)
        segments: list[Segment] = []
        masks: list[np.ndarray] = []
        for sid in seg_ids:
            seg = cached.get(sid)
            if seg is None:
                try:
                    seg = read_segment(self._kb_dir(kb_id) / sid)
                except FileNotFoundError:
                    log_event(log, "segment files missing", kb_id=kb_id, segment=sid)
                    continue
            segments.append(seg)
            masks.append(np.isin(seg.chunk_ids, by_seg.get(sid, [])))
        dense = old.dense if old else DenseView.empty()
        vgen = old.vector_generation if old else -1
        return KBView(gen, segments, masks, len(alive_rows), vector_generation=vgen if old else -1, dense=dense)

    def _load_dense(self, kb_id: str) -> DenseView:
        assert self.embedder is not None
        with self.db.session() as s:
            rows = s.execute(
                select(Chunk.id, Chunk.document_id, Embedding.vector)
                .join(Embedding, (Embedding.text_hash == Chunk.text_hash) & (Embedding.model == self.embedder.name))
                .where(Chunk.kb_id == kb_id)
            ).all()
        if not rows:
            return DenseView.empty()
        matrix = np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])
        return DenseView(np.asarray([r[0] for r in rows]), np.asarray([r[1] for r in rows]), matrix)

    # ---- embeddings (dense vectors fill in after ingest) ------------------------------------------

    def _vector_ready(self, s: Any, where: Any) -> int:
        if self.embedder is None:
            return 0
        return (
            s.scalar(
                select(func.count())
                .select_from(Chunk)
                .join(Embedding, (Embedding.text_hash == Chunk.text_hash) & (Embedding.model == self.embedder.name))
                .where(where)
            )
            or 0
        )

    def _vector_ready_by_doc(self, s: Any, doc_ids: list[str]) -> dict[str, int]:
        if self.embedder is None or not doc_ids:
            return {}
        rows = s.execute(
            select(Chunk.document_id, func.count())
            .join(Embedding, (Embedding.text_hash == Chunk.text_hash) & (Embedding.model == self.embedder.name))
            .where(Chunk.document_id.in_(doc_ids))
            .group_by(Chunk.document_id)
        ).all()
        return dict(rows)

    def embedding_progress(self, kb_ref: str | None = None, *, actor: Actor = SYSTEM) -> EmbedProgress:
        with self.db.session() as s:
            where = Chunk.kb_id == self.kb_id(kb_ref, actor=actor) if kb_ref else True
            total = s.scalar(select(func.count()).select_from(Chunk).where(where)) or 0
            ready = self._vector_ready(s, where) if self.embedder else 0
        return EmbedProgress(total=total, ready=ready, pending=total - ready)

    def embed_pending(self, limit: int | None = None, progress: Progress | None = None, stop: threading.Event | None = None) -> int:
        """Embed chunks that have no vector yet, in batches; returns how many texts were embedded."""
        if self.embedder is None:
            return 0
        done = 0
        total = self.embedding_progress().pending if progress else 0
        batch = max(1, self.settings.embedding_batch)
        while limit is None or done < limit:
            if stop is not None and stop.is_set():
                break
            with self.db.session() as s:
                rows = s.execute(
                    select(Chunk.text_hash, func.min(Chunk.text), func.min(Chunk.heading_path), func.min(Document.title),
                           func.min(Document.aliases))  # fmt: skip
                    .join(Document, Document.id == Chunk.document_id)
                    .outerjoin(Embedding, (Embedding.text_hash == Chunk.text_hash) & (Embedding.model == self.embedder.name))
                    .where(Embedding.text_hash.is_(None))
                    .group_by(Chunk.text_hash)
                    .limit(batch if limit is None else min(batch, limit - done))
                ).all()
            if not rows:
                break
            inputs = [embedding_input(indexed_title(r[3], r[4]), r[2], r[1]) for r in rows]
            vectors = self.embedder.embed_passages(inputs)
            hashes = [r[0] for r in rows]
            with self.db.session() as s:
                have = set(
                    s.scalars(select(Embedding.text_hash).where(Embedding.model == self.embedder.name, Embedding.text_hash.in_(hashes)))
                )
                s.add_all(
                    Embedding(model=self.embedder.name, text_hash=h, dim=int(v.shape[0]), vector=np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for h, v in zip(hashes, vectors, strict=True)
                    if h not in have
                )
                kb_ids = select(Chunk.kb_id).where(Chunk.text_hash.in_(hashes)).distinct()
                s.execute(
                    update(KnowledgeBase).where(KnowledgeBase.id.in_(kb_ids)).values(vector_generation=KnowledgeBase.vector_generation + 1)
                )
            done += len(rows)
            if progress:
                progress(done, max(total, done), "")
        return done


class EmbeddingWorker(threading.Thread):
    """Fills in vectors in the background of the API process, so search gets better as it goes."""

    def __init__(self, service: KnowledgeService, idle_seconds: float = 3.0):
        super().__init__(name="haoban-embedder", daemon=True)
        self.service = service
        self.idle_seconds = idle_seconds
        self.stop_event = threading.Event()
        self.running = False

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.running = True
                n = self.service.embed_pending(limit=self.service.settings.embedding_batch * 4, stop=self.stop_event)
            except HaobanError as err:
                log_event(log, "embedding failed", code=err.code, message=err.message)
                n = 0
                self.stop_event.wait(30)
            except Exception:  # keep the worker alive; the error is logged with its traceback
                log.exception("embedding worker error")
                n = 0
                self.stop_event.wait(30)
            finally:
                self.running = False
            if n == 0:
                self.stop_event.wait(self.idle_seconds)

    def stop(self) -> None:
        self.stop_event.set()


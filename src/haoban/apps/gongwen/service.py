"""GongwenService: the one entry point every front (library, CLI, API, console) uses for the 公文 toolkit.

It checks the permission (gongwen.use) and department scope, writes the audit log, keeps the 公文库 (saved
documents with versions) and its duplicate-check index, and calls the tools: drafting, review, compare,
duplicate check, layout and minutes. The tools themselves are plain functions in this package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, or_, select

from haoban.apps.gongwen import layout, toolbox
from haoban.apps.gongwen.compare import CompareReport, compare, compare_docx
from haoban.apps.gongwen.dedup import DedupReport, SyncReport
from haoban.apps.gongwen.dedup.service import ARCHIVE, KB_PREFIX, DedupService
from haoban.apps.gongwen.doctypes import DocType, doc_types
from haoban.apps.gongwen.document import MAX_CHARS, Gongwen, parse_document_bytes, parse_text
from haoban.apps.gongwen.draft import DraftRequest, DraftResult, draft
from haoban.apps.gongwen.minutes import MeetingInfo, MinutesResult, minutes
from haoban.apps.gongwen.models import GongwenDocument, GongwenVersion
from haoban.apps.gongwen.review import ReviewReport, RuleInfo, list_rules, review
from haoban.apps.gongwen.schemas import DocumentDetail, DocumentInfo, VersionInfo
from haoban.apps.gongwen.toolbox import ToolResult
from haoban.errors import EmptyFile, InvalidInput, NotFound
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM, Actor, Resource, authorize, within
from haoban.store.models import utcnow

USE = "gongwen.use"
DOCUMENTS = "documents"  # the corpus of the duplicate check made of the 公文库
MAX_NOTE = 200
MAX_TITLE = 300


def check_text(text: str | None, what: str = "公文内容", *, allow_empty: bool = False) -> str:
    """Empty or oversized input is refused before any tool runs, with the limit in the message. Compare
    allows an empty side (a document written from nothing is all insertions)."""
    if text is None or (not allow_empty and not text.strip()):
        raise EmptyFile(f"{what}为空", code="GONGWEN_EMPTY")
    if len(text) > MAX_CHARS:
        raise InvalidInput(
            f"{what}过长（{len(text)} 字），上限 {MAX_CHARS} 字", code="GONGWEN_TOO_LONG", detail={"chars": len(text)}
        )
    return text


class GongwenService:
    def __init__(self, knowledge: KnowledgeService, gateway: Any = None):
        self.knowledge = knowledge
        self.settings = knowledge.settings
        self.db = knowledge.db
        self.audit = knowledge.audit
        self.gateway = gateway if gateway is not None and getattr(gateway, "available", False) else None
        self.dedup_index = DedupService(knowledge)

    def close(self) -> None:
        self.dedup_index.close()

    # --- permissions -------------------------------------------------------------------------------------

    def _use(self, actor: Actor) -> None:
        authorize(actor, USE)

    @staticmethod
    def _resource(row: GongwenDocument) -> Resource:
        return Resource("gongwen", row.id, department_path=row.department_path)

    def _document(self, s: Any, doc_id: str, actor: Actor) -> GongwenDocument:
        row = s.get(GongwenDocument, doc_id)
        # Another department's document is reported missing, not forbidden: its existence is not shared.
        if row is None or not within(row.department_path, actor.department_path):
            raise NotFound(f"公文不存在：{doc_id}", code="GONGWEN_NOT_FOUND")
        authorize(actor, USE, self._resource(row))
        return row

    def doc_types(self, *, actor: Actor = SYSTEM) -> list[DocType]:
        self._use(actor)
        return list(doc_types().values())

    def review_rules(self, *, actor: Actor = SYSTEM) -> list[RuleInfo]:
        self._use(actor)
        return list_rules()

    # --- reading files -----------------------------------------------------------------------------------

    def parse_upload(self, data: bytes, filename: str, *, actor: Actor = SYSTEM) -> Gongwen:
        """A 公文 read from an uploaded DOCX, OFD, PDF, TXT or HTML file."""
        self._use(actor)
        max_bytes = int(self.settings.max_file_mb * 1024 * 1024)
        return parse_document_bytes(data, filename, max_bytes=max_bytes)

    # --- the 公文库: saved documents and versions ------------------------------------------------------------

    def save(
        self,
        text: str,
        *,
        doc_id: str | None = None,
        title: str | None = None,
        note: str = "",
        actor: Actor = SYSTEM,
    ) -> DocumentDetail:
        """Save a new document, or a new version of ``doc_id``. The duplicate-check index follows."""
        self._use(actor)
        check_text(text)
        parsed = parse_text(text)
        title = (title or (parsed.title.text if parsed.title else "") or text.strip().splitlines()[0])[:MAX_TITLE]
        note = (note or "")[:MAX_NOTE]
        with self.db.session() as s:
            if doc_id is None:
                row = GongwenDocument(
                    title=title,
                    department_path=actor.department_path,
                    owner_id=actor.user_id,
                    owner_name=actor.name,
                    latest_version=0,
                )
                s.add(row)
                s.flush()
            else:
                row = self._document(s, doc_id, actor)
            row.latest_version += 1
            row.title = title
            row.doc_type = parsed.doc_type
            row.doc_number = parsed.doc_number.text[:64] if parsed.doc_number else None
            row.chars = len(text)
            row.updated_at = utcnow()
            s.add(
                GongwenVersion(
                    document_id=row.id,
                    number=row.latest_version,
                    text=text,
                    note=note,
                    author_id=actor.user_id,
                    author_name=actor.name,
                )
            )
            s.flush()
            detail = self._detail(s, row, row.latest_version, text)
        self.audit.record(actor, "gongwen.save", "gongwen", detail.id, input=title, detail={"version": detail.version})
        # The latest version stands for the document in the duplicate check of past documents.
        self.dedup_index.register(detail.id, detail.title, text, {"department": detail.department}, actor=actor)
        return detail

    def list_documents(self, *, q: str | None = None, limit: int = 100, actor: Actor = SYSTEM) -> list[DocumentInfo]:
        self._use(actor)
        with self.db.session() as s:
            query = select(GongwenDocument).order_by(GongwenDocument.updated_at.desc()).limit(max(1, min(limit, 1000)))
            if actor.department_path is not None:
                root = actor.department_path.rstrip("/")
                query = query.where(
                    or_(GongwenDocument.department_path == root, GongwenDocument.department_path.like(root + "/%"))
                )
            if q:
                query = query.where(GongwenDocument.title.contains(q.strip()[:100]))
            return [self._info(row) for row in s.scalars(query)]

    def get_document(self, doc_id: str, *, version: int | None = None, actor: Actor = SYSTEM) -> DocumentDetail:
        self._use(actor)
        with self.db.session() as s:
            row = self._document(s, doc_id, actor)
            number = version or row.latest_version
            ver = s.scalar(
                select(GongwenVersion).where(GongwenVersion.document_id == row.id, GongwenVersion.number == number)
            )
            if ver is None:
                raise NotFound(f"公文“{row.title}”没有第 {number} 版", code="GONGWEN_VERSION_NOT_FOUND")
            detail = self._detail(s, row, number, ver.text)
        self.audit.record(actor, "gongwen.read", "gongwen", doc_id, detail={"version": number})
        return detail

    def delete_document(self, doc_id: str, *, actor: Actor = SYSTEM) -> None:
        self._use(actor)
        with self.db.session() as s:
            row = self._document(s, doc_id, actor)
            s.execute(delete(GongwenVersion).where(GongwenVersion.document_id == row.id))
            s.delete(row)
        self.audit.record(actor, "gongwen.delete", "gongwen", doc_id)
        self.dedup_index.unregister(doc_id, actor=actor)

    def _info(self, row: GongwenDocument) -> DocumentInfo:
        return DocumentInfo(
            id=row.id,
            title=row.title,
            doc_type=row.doc_type,
            doc_number=row.doc_number,
            department=row.department_path,
            owner=row.owner_name,
            latest_version=row.latest_version,
            chars=row.chars,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _detail(self, s: Any, row: GongwenDocument, number: int, text: str) -> DocumentDetail:
        versions = s.execute(
            select(
                GongwenVersion.number,
                GongwenVersion.note,
                GongwenVersion.author_name,
                func.length(GongwenVersion.text),
                GongwenVersion.created_at,
            )
            .where(GongwenVersion.document_id == row.id)
            .order_by(GongwenVersion.number)
        ).all()
        return DocumentDetail(
            **self._info(row).model_dump(),
            version=number,
            text=text,
            versions=[VersionInfo(number=n, note=note, author=a, chars=c, created_at=t) for n, note, a, c, t in versions],
        )

    # --- duplicate check -------------------------------------------------------------------------------------

    def dedup(
        self,
        text: str,
        *,
        corpus: str = DOCUMENTS,
        threshold: float = 0.7,
        exclude: list[str] | None = None,
        actor: Actor = SYSTEM,
    ) -> DedupReport:
        """智能查重 against the 公文库 (``documents``) or a knowledge base (its name or ID): each duplicated
        sentence with its sources. ``exclude`` leaves out documents, e.g. the one being edited."""
        self._use(actor)
        check_text(text)
        corpus = (corpus or DOCUMENTS).strip()
        target = ARCHIVE if corpus in (DOCUMENTS, ARCHIVE) else corpus if corpus.startswith(KB_PREFIX) else KB_PREFIX + corpus
        return self.dedup_index.check(text, corpus=target, threshold=threshold, exclude_doc_ids=exclude or (), actor=actor)

    def sync_dedup_kb(
        self, kb_ref: str, *, progress: Callable[[int, int], None] | None = None, actor: Actor = SYSTEM
    ) -> SyncReport:
        """Bring a knowledge base's duplicate-check corpus up to date now (a check does it too, silently)."""
        self._use(actor)
        return self.dedup_index.sync_kb(kb_ref.removeprefix(KB_PREFIX), progress=progress, actor=actor)

    # --- the tools ------------------------------------------------------------------------------------------

    def review(self, text: str, *, rules: list[str] | None = None, actor: Actor = SYSTEM) -> ReviewReport:
        """智能审核: format, wording, typos, sensitive words and personal information, with spans."""
        self._use(actor)
        check_text(text)
        report = review(text, lexicon=self.knowledge.lexicon, rules=rules)
        self.audit.record(
            actor, "gongwen.review", "gongwen", None, input=text, detail={"findings": len(report.findings)}
        )
        return report

    def draft(self, request: DraftRequest, *, use_model: bool = True, actor: Actor = SYSTEM) -> DraftResult:
        """Draft one of the 15 types: a structured skeleton without a model, sections written with one."""
        self._use(actor)
        result = draft(request, gateway=self.gateway if use_model else None)
        self.audit.record(
            actor, "gongwen.draft", "gongwen", None, input=result.title,
            detail={"doc_type": result.doc_type, "mode": result.mode, "model_sections": result.model_sections},
        )  # fmt: skip
        return result

    def minutes(
        self, transcript: str, *, meeting: MeetingInfo | None = None, use_model: bool = True, actor: Actor = SYSTEM
    ) -> MinutesResult:
        """会议纪要 from a transcript: decisions and action items (who, what, when)."""
        self._use(actor)
        check_text(transcript, "会议记录")
        result = minutes(transcript, meeting=meeting, gateway=self.gateway if use_model else None)
        self.audit.record(
            actor, "gongwen.minutes", "gongwen", None, input=transcript,
            detail={"mode": result.mode, "decisions": len(result.decisions), "actions": len(result.actions)},
        )  # fmt: skip
        return result

    def toolbox(
        self, operation: str, text: str, *, ratio: float | None = None, instruction: str = "", actor: Actor = SYSTEM
    ) -> ToolResult:
        """续写、扩写、缩写、改写、润色、摘要. Without a model only 摘要 and 缩写 (extractive) are available."""
        self._use(actor)
        result = toolbox.run(operation, text, gateway=self.gateway, ratio=ratio, instruction=instruction)
        self.audit.record(actor, "gongwen.toolbox", "gongwen", None, input=text, detail={"operation": operation, "mode": result.mode})
        return result

    def compare(self, versions: list[str], *, names: list[str] | None = None, actor: Actor = SYSTEM) -> CompareReport:
        """智能比对 of two or more versions: sentence alignment, character changes inside, moves."""
        self._use(actor)
        for text in versions:
            check_text(text, allow_empty=True)
        report = compare(versions, names=names)
        self.audit.record(actor, "gongwen.compare", "gongwen", None, detail={"versions": len(versions)})
        return report

    def compare_docx(self, old: str, new: str, *, actor: Actor = SYSTEM) -> bytes:
        """The new version as a DOCX whose differences from the old are tracked revisions (修订)."""
        self._use(actor)
        check_text(old, allow_empty=True)
        check_text(new)
        data = compare_docx(old, new, author=actor.name)
        self.audit.record(actor, "gongwen.compare_docx", "gongwen", None)
        return data

    def layout(self, text: str, *, relayout: bool = False, actor: Actor = SYSTEM) -> bytes:
        """GB/T 9704-2012 DOCX; ``relayout`` first rebuilds paragraphs of messy text (e.g. pasted from a PDF)."""
        self._use(actor)
        check_text(text)
        data = layout.relayout(text) if relayout else layout.render_docx(parse_text(text))
        self.audit.record(actor, "gongwen.layout", "gongwen", None, input=text, detail={"relayout": relayout})
        return data

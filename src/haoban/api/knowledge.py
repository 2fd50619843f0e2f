"""Knowledge bases, documents, ingestion and search over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from haoban import __version__
from haoban.api.deps import CurrentActor, Service
from haoban.errors import FileTooLarge, InvalidInput
from haoban.knowledge.faq import FaqColumns
from haoban.knowledge.schemas import (
    DocumentInfo,
    DocumentMeta,
    DocumentText,
    EmbedProgress,
    FaqImportReport,
    IndexUpgradeProgress,
    IngestReport,
    KBInfo,
    SearchFilters,
    SearchResult,
)
from haoban.knowledge.service import KnowledgeService, TextItem

router = APIRouter(prefix="/api")

MAX_UPLOAD_FILES = 200


class Health(BaseModel):
    status: str
    version: str
    embedder: str | None
    knowledge_bases: int


class KBCreate(BaseModel):
    name: str = Field(description="知识库名称，唯一")
    description: str = ""
    visibility: Literal["public", "internal", "restricted"] = Field("internal", description="可见范围：公开/内部/受限")
    department: str | None = Field(None, description="所属部门 ID 或路径；为空时归创建者所在部门")


class KBUpdate(BaseModel):
    description: str | None = None
    visibility: Literal["public", "internal", "restricted"] | None = None
    department: str | None = Field(None, description="改到哪个部门（ID 或路径）；空字符串表示全平台")


class DocumentPage(BaseModel):
    total: int
    items: list[DocumentInfo]


class TextIn(BaseModel):
    text: str = Field(description="文档全文")
    source: str | None = Field(None, description="来源标识；同一来源再次提交会替换原文档")
    meta: DocumentMeta | None = None


class SearchIn(BaseModel):
    query: str
    kbs: list[str] | None = Field(None, description="知识库 ID 或名称；为空时检索全部")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    top_k: int = 10
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid"
    fold_copies: bool = Field(True, description="相同或高度相似的文件（转载、重复收录）只列排名最前的一份，其余列在它的 copies 里")


@router.get("/health", response_model=Health, tags=["系统"])
def health(svc: Service, actor: CurrentActor) -> Health:
    return Health(
        status="ok",
        version=__version__,
        embedder=svc.embedder.name if svc.embedder else None,
        knowledge_bases=len(svc.readable_kb_ids(actor)),  # only the bases the caller may see
    )


@router.get("/kbs", response_model=list[KBInfo], tags=["知识库"])
def list_kbs(svc: Service, actor: CurrentActor) -> list[KBInfo]:
    return svc.list_kbs(actor=actor)


@router.post("/kbs", response_model=KBInfo, status_code=201, tags=["知识库"])
def create_kb(body: KBCreate, svc: Service, actor: CurrentActor) -> KBInfo:
    return svc.create_kb(body.name, body.description, visibility=body.visibility, department=body.department, actor=actor)


@router.get("/kbs/{kb}", response_model=KBInfo, tags=["知识库"])
def get_kb(kb: str, svc: Service, actor: CurrentActor) -> KBInfo:
    return svc.get_kb(kb, actor=actor)


@router.patch("/kbs/{kb}", response_model=KBInfo, tags=["知识库"])
def update_kb(kb: str, body: KBUpdate, svc: Service, actor: CurrentActor) -> KBInfo:
    return svc.update_kb(kb, description=body.description, visibility=body.visibility, department=body.department, actor=actor)


@router.delete("/kbs/{kb}", status_code=204, tags=["知识库"])
def delete_kb(kb: str, svc: Service, actor: CurrentActor) -> None:
    svc.delete_kb(kb, actor=actor)


@router.get("/kbs/{kb}/index-upgrade", response_model=IndexUpgradeProgress, tags=["检索"])
def index_upgrade(kb: str, svc: Service, actor: CurrentActor) -> IndexUpgradeProgress:
    """旧格式关键词索引的后台升级进度（升级期间检索照常，使用旧版索引）。"""
    return svc.index_upgrade_progress(kb, actor=actor)


@router.get("/kbs/{kb}/documents", response_model=DocumentPage, tags=["文档"])
def list_documents(
    kb: str,
    svc: Service,
    actor: CurrentActor,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    q: str | None = None,
) -> DocumentPage:
    total, items = svc.list_documents(kb, offset, limit, q, actor=actor)
    return DocumentPage(total=total, items=items)


@router.post("/kbs/{kb}/documents", response_model=IngestReport, tags=["文档"])
async def upload_documents(
    kb: str,
    request: Request,
    actor: CurrentActor,
    files: Annotated[list[UploadFile], File(description="一个或多个文件：PDF、DOCX、HTML、TXT、MD、OFD")],
    validity: Annotated[Literal["current", "repealed"] | None, Form()] = None,
    tags: Annotated[str | None, Form(description="标签，逗号分隔")] = None,
) -> IngestReport:
    svc: KnowledgeService = request.app.state.service
    if len(files) > MAX_UPLOAD_FILES:
        raise InvalidInput(f"一次最多上传 {MAX_UPLOAD_FILES} 个文件")
    limit = svc.settings.max_file_bytes
    uploads: list[tuple[str, bytes]] = []
    for f in files:
        # Read at most one byte past the limit, so a huge upload is refused without holding it all.
        data = await f.read(limit + 1)
        if len(data) > limit:
            raise FileTooLarge(f"文件超过 {svc.settings.max_file_mb:g} MB 的上限", detail={"file": f.filename})
        uploads.append((f.filename or "upload", data))
    meta = DocumentMeta(validity=validity, tags=[t.strip() for t in tags.split(",") if t.strip()] if tags else None)
    return await run_in_threadpool(svc.ingest_uploads, kb, uploads, meta, actor=actor)


@router.post("/kbs/{kb}/faq", response_model=FaqImportReport, tags=["文档"])
async def import_faq(
    kb: str,
    request: Request,
    actor: CurrentActor,
    file: Annotated[UploadFile, File(description="问答对文件：.xlsx、.csv/.tsv、.jsonl 或 .json")],
    sheet: Annotated[str | None, Form(description="只读这个工作表；默认读所有含问题列和答案列的工作表")] = None,
    question_column: Annotated[str | None, Form(description="问题列的表头（或列字母、列号），默认自动识别")] = None,
    answer_column: Annotated[str | None, Form(description="答案列")] = None,
    similar_column: Annotated[str | None, Form(description="相似问题列（多个用换行或 ｜ 分隔）")] = None,
    category_column: Annotated[str | None, Form(description="分类列（存为标签）")] = None,
    department_column: Annotated[str | None, Form(description="部门列（存为发布单位）")] = None,
    date_column: Annotated[str | None, Form(description="发布或更新日期列")] = None,
    encoding: Annotated[str | None, Form(description="CSV/JSONL 的编码，默认自动识别")] = None,
    remove_missing: Annotated[bool, Form(description="删除以前从同名文件导入、本次文件里已没有的问答对")] = False,
) -> FaqImportReport:
    """导入问答对：每个问题和答案存为一篇文档（标题为问题，正文为答案，相似问题一同检索）。同名文件再次导入时
    按问题原地更新答案；文件里已没有的问答对默认保留并在报告中列出，remove_missing 为真时删除。"""
    svc: KnowledgeService = request.app.state.service
    limit = svc.settings.max_file_bytes
    data = await file.read(limit + 1)  # at most one byte past the limit, so a huge upload is not held whole
    if len(data) > limit:
        raise FileTooLarge(f"文件超过 {svc.settings.max_file_mb:g} MB 的上限", detail={"file": file.filename})
    columns = FaqColumns(question=question_column or None, answer=answer_column or None, similar=similar_column or None,
                         category=category_column or None, department=department_column or None, date=date_column or None)  # fmt: skip
    return await run_in_threadpool(
        svc.import_faq, kb, data, file.filename or "faq", sheet=sheet or None, columns=columns, encoding=encoding or None,
        remove_missing=remove_missing, actor=actor,
    )  # fmt: skip


@router.post("/kbs/{kb}/texts", response_model=IngestReport, tags=["文档"])
def add_text(kb: str, body: TextIn, svc: Service, actor: CurrentActor) -> IngestReport:
    if not body.text.strip():
        raise InvalidInput("文本内容不能为空", code="TEXT_EMPTY")
    source = body.source or f"text:{(body.meta.title if body.meta and body.meta.title else body.text[:30]).strip()}"
    return svc.add_texts(kb, [TextItem(text=body.text, source=source, meta=body.meta)], actor=actor)


@router.get("/documents/{doc_id}", response_model=DocumentText, tags=["文档"])
def get_document(doc_id: str, svc: Service, actor: CurrentActor) -> DocumentText:
    return svc.get_document(doc_id, actor=actor)


@router.patch("/documents/{doc_id}", response_model=DocumentInfo, tags=["文档"])
def update_document(doc_id: str, body: DocumentMeta, svc: Service, actor: CurrentActor) -> DocumentInfo:
    return svc.update_document(doc_id, body, actor=actor)


@router.delete("/documents/{doc_id}", status_code=204, tags=["文档"])
def delete_document(doc_id: str, svc: Service, actor: CurrentActor) -> None:
    svc.delete_document(doc_id, actor=actor)


@router.post("/search", response_model=SearchResult, tags=["检索"])
def search(body: SearchIn, svc: Service, actor: CurrentActor) -> SearchResult:
    return svc.search(
        body.query, body.kbs, filters=body.filters, top_k=body.top_k, mode=body.mode, fold_copies=body.fold_copies, actor=actor
    )


@router.get("/search", response_model=SearchResult, tags=["检索"])
def search_get(
    svc: Service,
    actor: CurrentActor,
    q: Annotated[str, Query(description="检索内容")],
    kb: Annotated[list[str] | None, Query(description="知识库 ID 或名称，可多个")] = None,
    issuer: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    validity: Literal["current", "repealed", "all"] = "current",
    tag: Annotated[list[str] | None, Query()] = None,
    top_k: Annotated[int, Query(ge=1, le=100)] = 10,
    mode: Literal["hybrid", "lexical", "dense"] = "hybrid",
    fold_copies: Annotated[bool, Query(description="相同或高度相似的文件只列排名最前的一份")] = True,
) -> SearchResult:
    filters = SearchFilters(issuer=issuer, date_from=date_from, date_to=date_to, validity=validity, tags=tag or [])
    return svc.search(q, kb, filters=filters, top_k=top_k, mode=mode, fold_copies=fold_copies, actor=actor)


@router.get("/embeddings/progress", response_model=EmbedProgress, tags=["检索"])
def embedding_progress(request: Request, svc: Service, actor: CurrentActor, kb: str | None = None) -> EmbedProgress:
    progress = svc.embedding_progress(kb, actor=actor)
    worker = getattr(request.app.state, "embedder_worker", None)
    progress.running = bool(worker and worker.is_alive() and progress.pending > 0)
    return progress

"""The 公文 toolkit over HTTP: parse, draft, review, compare, duplicate check, GB/T 9704 layout, minutes,
writing toolbox and the 公文库 (saved documents with versions). Every route needs gongwen.use."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from haoban.api.deps import CurrentActor
from haoban.apps.gongwen.compare import CompareReport
from haoban.apps.gongwen.dedup import DedupReport
from haoban.apps.gongwen.doctypes import DocType
from haoban.apps.gongwen.document import MAX_CHARS, Gongwen
from haoban.apps.gongwen.draft import DraftRequest, DraftResult
from haoban.apps.gongwen.minutes import MeetingInfo, MinutesResult
from haoban.apps.gongwen.review import ReviewReport, RuleInfo
from haoban.apps.gongwen.schemas import DocumentDetail, DocumentInfo
from haoban.apps.gongwen.service import GongwenService
from haoban.apps.gongwen.toolbox import ToolResult
from haoban.errors import FileTooLarge

router = APIRouter(prefix="/api/gongwen", tags=["公文"])

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def get_gongwen(request: Request) -> GongwenService:
    return request.app.state.gongwen


Gw = Annotated[GongwenService, Depends(get_gongwen)]
Text = Annotated[str, Field(max_length=MAX_CHARS, description="公文全文（纯文本，一段一行）")]


def _docx(data: bytes, name: str) -> Response:
    # RFC 5987 filename* carries the Chinese name; the ASCII fallback keeps old clients working.
    headers = {"Content-Disposition": f"attachment; filename=\"gongwen.docx\"; filename*=UTF-8''{quote(name)}"}
    return Response(data, media_type=DOCX, headers=headers)


class TextIn(BaseModel):
    text: Text


class ReviewIn(TextIn):
    rules: list[str] | None = Field(None, description="只运行这些规则（规则编号或类别前缀，如 format、wording.typo）")


class LayoutIn(TextIn):
    relayout: bool = Field(False, description="先按公文格式重排无段落的文字（如从 PDF 复制的内容）")
    filename: str = Field("公文.docx", max_length=100)


class CompareIn(BaseModel):
    versions: list[Text] = Field(min_length=2, max_length=10, description="两个或多个版本，按先后顺序")
    names: list[str] | None = Field(None, description="各版本的名称，如 初稿、修改稿")


class CompareDocxIn(BaseModel):
    old: Text
    new: Text


class DedupIn(TextIn):
    corpus: str = Field("documents", description="比对范围：documents 为公文库全部历史公文；或知识库 ID/名称")
    threshold: float = Field(0.7, ge=0.3, le=1.0, description="相似度阈值")
    exclude: list[str] = Field(default_factory=list, max_length=100, description="不参与比对的公文 ID（如正在编辑的这篇）")


class MinutesIn(BaseModel):
    transcript: Text
    meeting: MeetingInfo | None = Field(None, description="会议信息：名称、日期、地点、主持人、出席人员等")
    use_model: bool = True


class ToolboxIn(TextIn):
    operation: str = Field(description="续写 / 扩写 / 缩写 / 改写 / 润色 / 摘要")
    ratio: float | None = Field(None, ge=0.05, le=0.95, description="缩写、摘要保留的比例")
    instruction: str = Field("", max_length=500, description="补充要求，如“语气更正式”")


class SaveIn(TextIn):
    title: str | None = Field(None, max_length=300)
    note: str = Field("", max_length=200, description="版本说明")


@router.get("/types", response_model=list[DocType])
def doc_types_(gw: Gw, actor: CurrentActor) -> list[DocType]:
    """15 个法定文种及其行文方向、是否需要主送机关、常用结语。"""
    return gw.doc_types(actor=actor)


@router.get("/rules", response_model=list[RuleInfo])
def review_rules(gw: Gw, actor: CurrentActor) -> list[RuleInfo]:
    """审核规则清单：编号、名称、类别与依据。"""
    return gw.review_rules(actor=actor)


@router.post("/parse", response_model=Gongwen)
async def parse(gw: Gw, actor: CurrentActor, file: Annotated[UploadFile, File(description="DOCX / OFD / PDF / TXT / HTML")]):
    limit = int(gw.settings.max_file_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"文件超过 {gw.settings.max_file_mb:g} MB 上限")
    return await run_in_threadpool(gw.parse_upload, data, file.filename or "upload.txt", actor=actor)


@router.post("/draft", response_model=DraftResult)
def draft(body: DraftRequest, gw: Gw, actor: CurrentActor, use_model: bool = True):
    return gw.draft(body, use_model=use_model, actor=actor)


@router.post("/review", response_model=ReviewReport)
def review(body: ReviewIn, gw: Gw, actor: CurrentActor):
    return gw.review(body.text, rules=body.rules, actor=actor)


@router.post("/layout")
def layout(body: LayoutIn, gw: Gw, actor: CurrentActor) -> Response:
    return _docx(gw.layout(body.text, relayout=body.relayout, actor=actor), body.filename)


@router.post("/compare", response_model=CompareReport)
def compare(body: CompareIn, gw: Gw, actor: CurrentActor):
    return gw.compare(body.versions, names=body.names, actor=actor)


@router.post("/compare/docx")
def compare_docx(body: CompareDocxIn, gw: Gw, actor: CurrentActor) -> Response:
    return _docx(gw.compare_docx(body.old, body.new, actor=actor), "修订对照.docx")


@router.post("/dedup", response_model=DedupReport)
def dedup(body: DedupIn, gw: Gw, actor: CurrentActor):
    return gw.dedup(body.text, corpus=body.corpus, threshold=body.threshold, exclude=body.exclude, actor=actor)


@router.post("/minutes", response_model=MinutesResult)
def minutes(body: MinutesIn, gw: Gw, actor: CurrentActor):
    return gw.minutes(body.transcript, meeting=body.meeting, use_model=body.use_model, actor=actor)


@router.post("/toolbox", response_model=ToolResult)
def toolbox(body: ToolboxIn, gw: Gw, actor: CurrentActor):
    return gw.toolbox(body.operation, body.text, ratio=body.ratio, instruction=body.instruction, actor=actor)


@router.get("/documents", response_model=list[DocumentInfo])
def list_documents(
    gw: Gw, actor: CurrentActor, q: Annotated[str | None, Query(max_length=100)] = None, limit: int = 100
):
    return gw.list_documents(q=q, limit=limit, actor=actor)


@router.post("/documents", response_model=DocumentDetail, status_code=201)
def create_document(body: SaveIn, gw: Gw, actor: CurrentActor):
    return gw.save(body.text, title=body.title, note=body.note, actor=actor)


@router.post("/documents/{doc_id}/versions", response_model=DocumentDetail, status_code=201)
def save_version(doc_id: str, body: SaveIn, gw: Gw, actor: CurrentActor):
    return gw.save(body.text, doc_id=doc_id, title=body.title, note=body.note, actor=actor)


@router.get("/documents/{doc_id}", response_model=DocumentDetail)
def get_document(doc_id: str, gw: Gw, actor: CurrentActor, version: Annotated[int | None, Query(ge=1)] = None):
    return gw.get_document(doc_id, version=version, actor=actor)


@router.delete("/documents/{doc_id}", status_code=204)
def delete_document(doc_id: str, gw: Gw, actor: CurrentActor) -> Response:
    gw.delete_document(doc_id, actor=actor)
    return Response(status_code=204)

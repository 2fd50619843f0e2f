"""Sensitive-word lexicons over HTTP: categories, terms, allow-list, import/export and checks.

Reading needs "lexicon.read", changing needs "lexicon.write"; the service asks `authorize` for both.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from haoban.api.deps import CurrentActor
from haoban.errors import FileTooLarge, InvalidInput
from haoban.safety.lexicon import (
    CategoryInfo,
    ImportReport,
    LexiconResult,
    LexiconService,
    TermInfo,
    TermPage,
)
from haoban.safety.lexicon_store import Action

router = APIRouter(prefix="/api/lexicon", tags=["敏感词"])

MAX_CHECK_CHARS = 2_000_000
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def get_lexicon(request: Request) -> LexiconService:
    # The knowledge service's instance: one compiled automaton per process, shared with the guard.
    return request.app.state.service.lexicon


Lexicon = Annotated[LexiconService, Depends(get_lexicon)]


class CategoryIn(BaseModel):
    action: Action = Field(description="block 拦截；mask 打码；review 人工复核")
    description: str | None = None


class TermIn(BaseModel):
    term: str
    category: str = Field("", description="类别；白名单词条可为空（适用于所有类别）")
    kind: Literal["deny", "allow"] = "deny"
    flags: list[str] = Field(default_factory=list, description="pinyin：同时匹配拼音；strict：只匹配原样")
    action: Action | None = Field(None, description="单独指定的处理方式；为空时按类别")
    note: str = ""


class CheckIn(BaseModel):
    text: str


@router.get("/categories", response_model=list[CategoryInfo])
def list_categories(lex: Lexicon, actor: CurrentActor) -> list[CategoryInfo]:
    return lex.categories(actor=actor)


@router.put("/categories/{name}", response_model=CategoryInfo)
def set_category(name: str, body: CategoryIn, lex: Lexicon, actor: CurrentActor) -> CategoryInfo:
    return lex.set_category(name, body.action, body.description, actor=actor)


@router.get("/terms", response_model=TermPage)
def list_terms(
    lex: Lexicon,
    actor: CurrentActor,
    category: str | None = None,
    kind: Literal["deny", "allow"] | None = None,
    q: str | None = Query(None, description="按词条内容筛选"),
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> TermPage:
    return lex.list_terms(category, kind=kind, query=q, limit=limit, offset=offset, actor=actor)


@router.post("/terms", response_model=TermInfo, status_code=201)
def add_term(body: TermIn, lex: Lexicon, actor: CurrentActor) -> TermInfo:
    return lex.add_term(
        body.term, body.category, kind=body.kind, flags=body.flags, action=body.action, note=body.note, actor=actor
    )


@router.delete("/terms/{term_id}", response_model=TermInfo)
def remove_term(term_id: str, lex: Lexicon, actor: CurrentActor) -> TermInfo:
    return lex.remove_term(term_id, actor=actor)


@router.post("/import", response_model=ImportReport)
async def import_terms(
    lex: Lexicon,
    actor: CurrentActor,
    file: Annotated[UploadFile, File(description="txt（每行一词）、CSV（含 term 表头）或 JSONL")],
    format: Annotated[Literal["auto", "txt", "csv", "jsonl"], Form()] = "auto",  # noqa: A002
    category: Annotated[str | None, Form(description="txt 文件的类别；CSV/JSONL 行内未写类别时使用")] = None,
    kind: Annotated[Literal["deny", "allow"], Form()] = "deny",
    new_category_action: Annotated[Action, Form(description="导入时新建的类别使用的处理方式")] = "review",
) -> ImportReport:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge("词库文件超过 50 MB 的上限", code="LEXICON_FILE_TOO_LARGE")
    return await run_in_threadpool(
        lex.import_bytes,
        data,
        name=file.filename,
        fmt=format,
        category=category,
        kind=kind,
        new_category_action=new_category_action,
        actor=actor,
    )


@router.get("/export", response_class=PlainTextResponse)
def export_terms(
    lex: Lexicon,
    actor: CurrentActor,
    format: Literal["txt", "csv", "jsonl"] = "csv",  # noqa: A002
    category: str | None = None,
    kind: Literal["deny", "allow"] | None = None,
) -> PlainTextResponse:
    body = lex.export(format, category=category, kind=kind, actor=actor)
    media = {"csv": "text/csv", "jsonl": "application/x-ndjson", "txt": "text/plain"}[format]
    return PlainTextResponse(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="lexicon.{format}"'},
    )


@router.post("/check", response_model=LexiconResult)
def check(body: CheckIn, lex: Lexicon, actor: CurrentActor) -> LexiconResult:
    if len(body.text) > MAX_CHECK_CHARS:
        raise InvalidInput(f"待检查的文本超过 {MAX_CHECK_CHARS} 字的上限，请分段提交", code="LEXICON_TEXT_TOO_LONG")
    return lex.check(body.text, actor=actor)

"""The 办事 assistant over HTTP: catalogue import/export, match with clarifying questions, checklists,
pre-check, enterprise policy matching. Reads need guide.read (visitors have it), writes guide.write."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from haoban.api.deps import CurrentActor
from haoban.apps.guide.catalogue import format_of
from haoban.apps.guide.schemas import (
    Bundle,
    Checklist,
    Condition,
    EnterpriseProfile,
    ImportReport,
    ItemSummary,
    MatchResult,
    Policy,
    PolicyMatch,
    PrecheckResult,
    ServiceItem,
)
from haoban.apps.guide.service import MAX_IMPORT_BYTES, GuideService
from haoban.errors import FileTooLarge

router = APIRouter(prefix="/api/guide", tags=["办事指南"])

_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def get_guide(request: Request) -> GuideService:
    return request.app.state.guide


Guide = Annotated[GuideService, Depends(get_guide)]


class MatchIn(BaseModel):
    query: str = Field(description="口语化的办事需求，如“我刚生了孩子要办什么”")
    answers: dict[str, str] = Field(default_factory=dict, description="对追问的回答，如 {户籍地: 外地}")
    k: int = Field(5, ge=1, le=50)
    use_model: bool = Field(True, description="配置了大模型时由模型辅助判断意图（结果仍只来自事项目录）")


class ChecklistIn(BaseModel):
    code: str = Field(description="事项或一件事编码")
    answers: dict[str, str] = Field(default_factory=dict)


class PrecheckIn(ChecklistIn):
    provided: list[str] = Field(default_factory=list, description="已准备的材料名称")
    fields: dict[str, str] = Field(default_factory=dict, description="表单字段，如 {id_number: …, phone: …}")


class PolicyMatchIn(BaseModel):
    profile: EnterpriseProfile
    include_drafts: bool = False


class DraftIn(BaseModel):
    text: str = Field(description="政策原文")
    use_model: bool = True


@router.get("/stats")
def stats(guide: Guide, actor: CurrentActor) -> dict[str, int]:
    return guide.stats()


@router.get("/items", response_model=list[ItemSummary])
def list_items(guide: Guide, actor: CurrentActor, department: str | None = None):
    return guide.list_items(department, actor=actor)


@router.get("/items/{code}", response_model=ServiceItem)
def get_item(code: str, guide: Guide, actor: CurrentActor):
    return guide.get_item(code, actor=actor)


@router.get("/bundles", response_model=list[Bundle])
def list_bundles(guide: Guide, actor: CurrentActor):
    return guide.list_bundles(actor=actor)


@router.get("/bundles/{code}", response_model=Bundle)
def get_bundle(code: str, guide: Guide, actor: CurrentActor):
    return guide.get_bundle(code, actor=actor)


@router.get("/policies", response_model=list[Policy])
def list_policies(guide: Guide, actor: CurrentActor):
    return guide.list_policies(actor=actor)


@router.post("/match", response_model=MatchResult)
def match(body: MatchIn, guide: Guide, actor: CurrentActor):
    return guide.match(body.query, body.answers, k=body.k, use_model=body.use_model, actor=actor)


@router.post("/checklist", response_model=Checklist)
def checklist(body: ChecklistIn, guide: Guide, actor: CurrentActor):
    return guide.checklist(body.code, body.answers, actor=actor)


@router.post("/precheck", response_model=PrecheckResult)
def precheck(body: PrecheckIn, guide: Guide, actor: CurrentActor):
    return guide.precheck(
        body.code, answers=body.answers, provided=body.provided, fields=body.fields, actor=actor
    )


@router.post("/policies/match", response_model=list[PolicyMatch])
def policy_match(body: PolicyMatchIn, guide: Guide, actor: CurrentActor):
    return guide.match_policies(body.profile, include_drafts=body.include_drafts, actor=actor)


@router.post("/policies/draft", response_model=list[Condition])
def draft_conditions(body: DraftIn, guide: Guide, actor: CurrentActor):
    return guide.draft_conditions(body.text, use_model=body.use_model, actor=actor)


@router.get("/basis")
def resolve_basis(
    guide: Guide, actor: CurrentActor, text: Annotated[str, Query(min_length=1, max_length=300)]
) -> dict | None:
    """设定依据 → 知识库中的文档（按标题或文号查找）；找不到时返回 null。"""
    return guide.resolve_basis(text, actor=actor)


@router.post("/import", response_model=ImportReport)
async def import_catalogue(
    guide: Guide,
    actor: CurrentActor,
    file: Annotated[UploadFile, File(description="目录文件：.json / .csv / .xlsx")],
):
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise FileTooLarge(f"目录文件超过 {MAX_IMPORT_BYTES // 1024 // 1024} MB 上限")
    return await run_in_threadpool(guide.import_catalogue, data, format_of(file.filename or ""), actor=actor)


@router.get("/export")
def export_catalogue(
    guide: Guide,
    actor: CurrentActor,
    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
) -> Response:
    data = guide.export_catalogue(fmt, actor=actor)
    headers = {"Content-Disposition": f'attachment; filename="guide-catalogue.{fmt}"'}
    return Response(data, media_type=_MEDIA[fmt], headers=headers)

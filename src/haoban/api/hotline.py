"""12345 hotline work orders over HTTP: intake, queue, detail, transitions, training, classification, statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from haoban.api.deps import CurrentActor
from haoban.apps.hotline.lifecycle import ACTIONS, STATUS_LABELS
from haoban.apps.hotline.schemas import (
    ClassifyOut,
    CorrectionIn,
    StatsOut,
    TicketDetail,
    TicketIn,
    TicketOut,
    TicketPage,
    TrainReport,
    TransitionIn,
)
from haoban.apps.hotline.service import HotlineService

router = APIRouter(prefix="/api/hotline", tags=["12345 热线"])


def get_hotline(request: Request) -> HotlineService:
    return request.app.state.hotline


Hotline = Annotated[HotlineService, Depends(get_hotline)]


class ClassifyIn(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=1000, description="待分类的诉求文本")


@router.get("/meta", summary="状态、操作和部门列表（控制台用）")
def meta(svc: Hotline, actor: CurrentActor) -> dict[str, Any]:
    import json

    from haoban.safety.auth import authorize

    authorize(actor, "hotline.read")
    from importlib import resources

    depts = json.loads((resources.files("haoban.apps.hotline") / "data" / "departments.json").read_text(encoding="utf-8"))
    return {
        "statuses": STATUS_LABELS,
        "actions": {a.name: {"label": a.label, "needs": list(a.needs)} for a in ACTIONS.values()},
        "departments": [d["name"] for d in depts["departments"]],
        "taxonomy": depts["taxonomy"],
        "model": (svc.model_report() or {}).get("version"),
    }


@router.post("/tickets", response_model=TicketOut, status_code=201, summary="受理工单")
async def intake(body: TicketIn, svc: Hotline, actor: CurrentActor) -> TicketOut:
    return await run_in_threadpool(svc.intake, body, actor=actor)


@router.get("/tickets", response_model=TicketPage, summary="工单列表（队列）")
def list_tickets(
    svc: Hotline,
    actor: CurrentActor,
    status: str | None = None,
    department: str | None = None,
    review: bool | None = None,
    sla: str | None = Query(None, description="overdue 超期 / warning 临期"),
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> TicketPage:
    return svc.list(status=status, department=department, review=review, sla=sla, q=q, limit=limit, offset=offset, actor=actor)


@router.get("/tickets/{ref}", response_model=TicketDetail, summary="工单详情")
async def get_ticket(ref: str, svc: Hotline, actor: CurrentActor) -> TicketDetail:
    return await run_in_threadpool(svc.get, ref, actor=actor)


@router.post("/tickets/{ref}/transitions", response_model=TicketOut, summary="工单流转（派单、签收、退单、回复、回访、办结……）")
def transition(ref: str, body: TransitionIn, svc: Hotline, actor: CurrentActor) -> TicketOut:
    return svc.transition(ref, body, actor=actor)


@router.post("/tickets/{ref}/correction", response_model=TicketOut, summary="修正分类与部门（成为训练数据）")
def correct(ref: str, body: CorrectionIn, svc: Hotline, actor: CurrentActor) -> TicketOut:
    return svc.correct(ref, request_type=body.request_type, domain=body.domain, department=body.department, actor=actor)


@router.get("/overdue", response_model=list[TicketOut], summary="超期与临期工单")
def overdue(svc: Hotline, actor: CurrentActor) -> list[TicketOut]:
    return svc.overdue(actor=actor)


@router.post("/train", response_model=TrainReport, summary="用已确认标注的工单重新训练分派模型")
async def train(svc: Hotline, actor: CurrentActor) -> TrainReport:
    return await run_in_threadpool(svc.train, actor=actor)


@router.post("/classify", response_model=list[ClassifyOut], summary="批量分类与分派建议")
async def classify(body: ClassifyIn, svc: Hotline, actor: CurrentActor) -> list[ClassifyOut]:
    return await run_in_threadpool(svc.classify, body.texts, actor=actor)


@router.get("/stats", response_model=StatsOut, summary="考评统计与热点")
def stats(svc: Hotline, actor: CurrentActor, start: datetime | None = None, end: datetime | None = None) -> StatsOut:
    return svc.stats(start=start, end=end, actor=actor)

"""Personal-information masking over HTTP: POST /api/pii/mask ("pii.mask") and /api/pii/unmask ("pii.unmask").

Permissions are checked by `PiiService` (the service layer), and every call is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from haoban.api.deps import CurrentActor
from haoban.safety import pii
from haoban.safety.vault import PiiService, UnmaskResult

router = APIRouter(prefix="/api/pii", tags=["个人信息脱敏"])


def get_pii(request: Request) -> PiiService:
    state = request.app.state
    if getattr(state, "pii", None) is None:  # an app built without the lifespan line (tests, embedding)
        state.pii = PiiService.from_service(state.service)
    return state.pii


Pii = Annotated[PiiService, Depends(get_pii)]


class MaskIn(BaseModel):
    text: str = Field(max_length=pii.MAX_CHARS, description="要脱敏的文本")
    style: pii.MaskStyle = Field("partial", description="partial 部分遮盖；tag 类型标签；pseudonym 可还原假名")
    types: list[str] | None = Field(None, description="要处理的类型（如 id_card、mobile、name）；为空时为默认集合（不含机构名、地名）")
    min_confidence: float = Field(0.5, ge=0, le=1, description="低于此置信度的不处理")


class UnmaskIn(BaseModel):
    text: str = Field(max_length=pii.MAX_CHARS, description="含假名（如【姓名#A3F2】）的文本")


@router.post("/mask", response_model=pii.MaskResult)
def mask(body: MaskIn, svc: Pii, actor: CurrentActor) -> pii.MaskResult:
    types = pii.parse_types(body.types, pii.DEFAULT_MASK_TYPES)
    return svc.mask(body.text, body.style, types, actor=actor, min_confidence=body.min_confidence)


@router.post("/unmask", response_model=UnmaskResult)
def unmask(body: UnmaskIn, svc: Pii, actor: CurrentActor) -> UnmaskResult:
    return svc.unmask(body.text, actor=actor)

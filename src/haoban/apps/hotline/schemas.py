"""Pydantic models at the hotline's boundaries (library, CLI JSON, API)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from haoban.knowledge.schemas import UTCDateTime

RequestType = Literal["咨询", "求助", "投诉", "举报", "建议", "表扬"]
Urgency = Literal["特急", "紧急", "一般"]
Satisfaction = Literal["满意", "基本满意", "不满意"]
MAX_TEXT = 5000


class TicketIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT, description="诉求内容（或通话转写文本）")
    channel: str = Field("电话", max_length=16, description="来源渠道：电话/网站/微信/APP 等")
    caller_name: str | None = Field(None, max_length=64)
    caller_phone: str | None = Field(None, max_length=32, description="来电号码；只保存于专门字段，展示时脱敏")
    location: str | None = Field(None, max_length=200, description="诉求地点")
    occurred_at: datetime | None = None
    received_at: datetime | None = Field(None, description="受理时间；为空时取当前时间")
    request_type: RequestType | None = Field(None, description="诉求类型；为空时由模型判断")
    domain: str | None = Field(None, max_length=32)
    category: str | None = Field(None, max_length=64)
    department: str | None = Field(None, max_length=64, description="承办部门；为空时由模型和权责清单推荐")
    urgency: Urgency | None = None
    attachments: list[str] = Field(default_factory=list, max_length=20)


class TransitionIn(BaseModel):
    action: str = Field(description="dispatch 派单 / sign 签收 / return 退单 / redispatch 改派 / start 开始办理 / reply 回复 / "
                        "visit 回访 / close 办结 / answer 直接答复 / reopen 重办 / supervise 督办 / request_extension 延期申请 / "
                        "approve_extension 批准延期 / reject_extension 驳回延期 / merge 合并")
    department: str | None = Field(None, max_length=64)
    reason: str | None = Field(None, max_length=1000)
    reply: str | None = Field(None, max_length=MAX_TEXT)
    satisfaction: Satisfaction | None = None
    days: int | None = Field(None, ge=1, le=30, description="延期工作日数")
    into: str | None = Field(None, description="合并到的工单 ID 或编号")


class CorrectionIn(BaseModel):
    request_type: RequestType | None = None
    domain: str | None = Field(None, max_length=32)
    department: str | None = Field(None, max_length=64)


class EventOut(BaseModel):
    seq: int
    action: str
    label: str
    from_status: str | None
    to_status: str
    actor_id: str
    actor_name: str
    note: str
    data: dict[str, Any]
    created_at: UTCDateTime


class TicketOut(BaseModel):
    id: str
    number: str
    channel: str
    text: str
    caller_masked: str | None
    location: str | None
    occurred_at: UTCDateTime | None
    received_at: UTCDateTime
    request_type: str | None
    domain: str | None
    category: str | None
    department: str | None
    urgency: str
    sentiment: str
    risk_words: list[str]
    summary: str
    keywords: list[str]
    places: list[str]
    attachments: list[str]
    status: str
    status_label: str
    due_at: UTCDateTime | None
    sla_rule: str
    sla_state: str = Field(description="ok 正常 / warning 临期 / overdue 超期 / none 不计时")
    hours_left: float | None
    needs_review: bool
    review_reason: str
    labels_verified: bool
    merged_into: str | None
    direct_answer: dict[str, Any] | None
    reply: str
    satisfaction: str | None
    supervised: bool
    reopen_count: int
    return_count: int
    extension: dict[str, Any] | None
    suggestion: dict[str, Any]
    closed_at: UTCDateTime | None
    created_at: UTCDateTime
    updated_at: UTCDateTime


class SimilarOut(BaseModel):
    id: str
    number: str
    summary: str
    status: str
    department: str | None
    received_at: UTCDateTime
    text_similarity: float
    score: float
    same_place: bool | None
    hours_apart: float


class TicketDetail(BaseModel):
    ticket: TicketOut
    events: list[EventOut]
    allowed_actions: list[dict[str, Any]] = Field(description="当前身份可执行的操作：action、label、needs（须填写的字段）")
    similar: list[SimilarOut]
    suggested_reply: str
    merged: list[str] = Field(default_factory=list, description="并入本工单的重复工单编号")


class TicketPage(BaseModel):
    total: int
    items: list[TicketOut]


class TrainReport(BaseModel):
    version: int
    examples: int
    seconds: float
    fields: dict[str, Any]


class ClassifyOut(BaseModel):
    text: str
    request_type: str | None
    domain: str | None
    department: str | None
    confidence: float
    needs_review: bool
    review_reason: str
    urgency: str
    sentiment: str
    risk_words: list[str]
    rules: list[dict[str, Any]]
    predictions: dict[str, Any]
    model_version: int | None


class DepartmentStats(BaseModel):
    department: str
    total: int
    responded: int
    closed: int
    on_time: int
    overdue_open: int
    response_rate: float
    close_rate: float
    on_time_rate: float
    satisfaction_rate: float | None
    reopen_rate: float
    score: float = Field(description="考评综合得分（0–100）：办结率 30%、按时率 30%、满意率 30%、重办率 10%")


class Hotspot(BaseModel):
    domain: str
    place: str
    week: str
    count: int


class StatsOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_request_type: dict[str, int]
    by_domain: dict[str, int]
    by_day: dict[str, int]
    departments: list[DepartmentStats]
    hotspots: list[Hotspot]
    review_queue: int
    overdue: int
    warning: int

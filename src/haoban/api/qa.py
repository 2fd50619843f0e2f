"""Policy Q&A over HTTP: ask (JSON or Server-Sent Events), conversations and feedback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from haoban.api.deps import CurrentActor
from haoban.apps.qa.schemas import Answer, ConversationOut, ConversationSummary
from haoban.apps.qa.service import QAService
from haoban.errors import HaobanError
from haoban.knowledge.schemas import SearchFilters
from haoban.logs import get_logger

router = APIRouter(prefix="/api/qa", tags=["问答"])
log = get_logger("api.qa")


def get_qa(request: Request) -> QAService:
    return request.app.state.qa


QA = Annotated[QAService, Depends(get_qa)]


class AskIn(BaseModel):
    question: str = Field(description="问题（口语化中文即可）")
    kbs: list[str] | None = Field(None, description="知识库 ID 或名称；为空时在全部知识库中查找依据")
    conversation_id: str | None = Field(None, description="多轮对话的会话 ID；为空时新建会话")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    use_model: bool = Field(True, description="配置了大模型时是否用它生成回答；false 时只做摘录式回答")
    stream: bool = Field(False, description="true 时以 SSE 流式返回：meta、delta、done（出错时 error）事件")


class FeedbackIn(BaseModel):
    helpful: bool = Field(description="有用为 true，无用为 false")
    comment: str = Field("", max_length=1000)


def _sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@router.post("/ask", response_model=Answer, responses={200: {"content": {"text/event-stream": {}}}})
def ask(body: AskIn, qa: QA, actor: CurrentActor):
    kwargs = {"kbs": body.kbs, "conversation_id": body.conversation_id, "filters": body.filters, "use_model": body.use_model, "actor": actor}
    if not body.stream:
        return qa.ask(body.question, **kwargs)
    # Input errors (empty question, unknown conversation …) surface before the stream starts, as JSON.
    events = qa.ask_stream(body.question, **kwargs)
    first = next(events)

    def gen() -> Iterator[str]:
        try:
            for event in _chain(first, events):
                payload = {k: v for k, v in event.items() if k != "type"}
                if "answer" in payload and isinstance(payload["answer"], BaseModel):
                    payload["answer"] = payload["answer"].model_dump(mode="json")
                yield _sse(event["type"], payload)
        except HaobanError as err:
            yield _sse("error", err.to_dict())
        except Exception:  # the stream has started: report in-band, log the traceback
            log.exception("qa stream failed")
            yield _sse("error", {"code": "INTERNAL_ERROR", "message": "系统内部错误，请稍后重试", "detail": None})

    return StreamingResponse(gen(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _chain(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


@router.get("/conversations", response_model=list[ConversationSummary])
def list_conversations(qa: QA, actor: CurrentActor, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ConversationSummary]:
    return qa.list_conversations(limit, actor=actor)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: str, qa: QA, actor: CurrentActor) -> ConversationOut:
    return qa.conversation(conversation_id, actor=actor)


@router.delete("/conversations/{conversation_id}", status_code=204)
def delete_conversation(conversation_id: str, qa: QA, actor: CurrentActor) -> None:
    qa.delete_conversation(conversation_id, actor=actor)


@router.post("/messages/{message_id}/feedback", status_code=204)
def feedback(message_id: str, body: FeedbackIn, qa: QA, actor: CurrentActor) -> None:
    qa.feedback(message_id, body.helpful, body.comment, actor=actor)

"""Pydantic models at the boundary of the Q&A service (library, API, CLI JSON, web console)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from haoban.knowledge.schemas import UTCDateTime

Intent = Literal["咨询", "办事", "投诉", "建议"]
AnswerMode = Literal["extractive", "generative", "refusal"]


class AnswerCitation(BaseModel):
    n: int = Field(description="编号，从 1 开始，对应回答正文中的 [n]")
    chunk_id: str
    document_id: str
    title: str
    doc_number: str | None = None
    issuer: str | None = None
    heading_path: str = ""
    start: int = Field(description="所引段落在原文中的起始字符位置")
    end: int = Field(description="所引段落在原文中的结束字符位置（不含）")
    passage: str = Field(description="所引段落原文，即原文 [start, end)")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="段落内作答句子的位置 [start, end)"
    )


class FaqSource(BaseModel):
    """The question–answer pair (问答对) an answer is taken from, whole, because the question is its question."""

    document_id: str
    question: str = Field(description="问答对的标准问题")
    matched: str = Field(description="与提问相符的问法：标准问题或它的某个相似问题")
    complete: bool = Field(description="是否给出了完整答案；答案过长时只给开头部分，完整内容见所引问答对")


class Answer(BaseModel):
    conversation_id: str
    message_id: str
    question: str
    rewritten_question: str = Field(description="用于检索的独立问题（多轮对话中补全了指代和省略）")
    mode: AnswerMode
    text: str = Field(description="展示给用户的回答")
    citations: list[AnswerCitation] = Field(default_factory=list)
    confidence: float = Field(description="依据充分程度 0–1（经基准数据标定）")
    intent: Intent
    related_questions: list[str] = Field(default_factory=list)
    suggestions: list[str] = Field(default_factory=list, description="拒答时可参考的文件或换个问法")
    notice: str | None = Field(None, description="检索或生成状态说明，如向量未就绪、模型不可用而改用摘录回答")
    guard: dict | None = Field(
        None, description="安全策略的决定（stage、action、blocked、reason、rules）；被拦截的问题 blocked 为 true"
    )
    faq: FaqSource | None = Field(
        None, description="提问与某个问答对的问题相符时，回答就是该问答对的答案（mode 为 extractive），这里是它的来源"
    )
    took_ms: float


class MessageOut(BaseModel):
    id: str
    seq: int
    question: str
    rewritten_question: str
    mode: AnswerMode
    intent: Intent
    answer: Answer
    helpful: bool | None = Field(None, description="最近一次反馈：有用/无用；没有反馈时为空")
    feedback_comment: str | None = None
    created_at: UTCDateTime


class ConversationOut(BaseModel):
    id: str
    title: str
    kbs: list[str] = Field(default_factory=list)
    created_at: UTCDateTime
    updated_at: UTCDateTime
    messages: list[MessageOut]


class ConversationSummary(BaseModel):
    id: str
    title: str
    message_count: int
    last_question: str | None
    created_at: UTCDateTime
    updated_at: UTCDateTime


# Events of ask_stream: {"type": "meta", ...}, {"type": "delta", "text": ...}, {"type": "done", "answer": Answer}.
AnswerEvent = dict[str, Any]

"""Types of the model gateway: messages, results, token usage and one named model's endpoint."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )


class ChatResult(BaseModel):
    text: str
    model: str = Field(description="回答所用的具名模型（default、fast…），不是服务端模型名")
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None


class ModelEndpoint(BaseModel):
    """One named model: where it is served and how patiently to call it.

    Built from the `llm_*` settings (the `default` model) or from one `llm_models` entry; fields an
    entry leaves out take the `llm_*` values.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    base_url: str = Field(description="OpenAI 兼容地址，含 /v1，如 http://127.0.0.1:8000/v1")
    model: str = Field(description="服务端的模型名")
    api_key: str | None = None
    timeout: float = Field(120.0, gt=0, description="读取超时（秒）")
    connect_timeout: float = Field(3.0, gt=0)
    stream_idle_timeout: float = Field(30.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    backoff: float = Field(0.5, ge=0, description="第一次重试前的等待（秒），之后每次翻倍")
    strip_think: bool = Field(True, description="去掉推理模型回答开头的 <think>…</think> 段")
    extra_body: dict[str, Any] = Field(default_factory=dict, description="原样并入请求体的额外参数")

    @field_validator("base_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url 必须以 http:// 或 https:// 开头")
        return value

    def public(self) -> dict[str, Any]:
        """What a status page may show: no API key."""
        return {"base_url": self.base_url, "model": self.model, "timeout": self.timeout}

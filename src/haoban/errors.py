"""Project exceptions: a stable code, a Chinese message for users, an HTTP status and a CLI exit code."""

from __future__ import annotations

from typing import Any


class HaobanError(Exception):
    code = "INTERNAL_ERROR"
    status = 500
    message = "系统内部错误"

    def __init__(self, message: str | None = None, *, code: str | None = None, detail: Any = None):
        self.message = message or self.message
        self.code = code or self.code
        self.detail = detail
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}


class InvalidInput(HaobanError):
    code, status, message = "INVALID_INPUT", 400, "输入不合法"


class NotFound(HaobanError):
    code, status, message = "NOT_FOUND", 404, "资源不存在"


class Conflict(HaobanError):
    code, status, message = "CONFLICT", 409, "资源冲突"


class ParseError(HaobanError):
    """A file could not be turned into text. Each subclass names why."""

    code, status, message = "PARSE_FAILED", 422, "文件解析失败"


class CorruptFile(ParseError):
    code, message = "FILE_CORRUPT", "文件已损坏或格式不正确"


class EncryptedFile(ParseError):
    code, message = "FILE_ENCRYPTED", "文件已加密，无法读取"


class EmptyFile(ParseError):
    code, message = "FILE_EMPTY", "文件为空或没有可提取的文字"


class FileTooLarge(ParseError):
    code, status, message = "FILE_TOO_LARGE", 413, "文件超过大小上限"


class UnsupportedFormat(ParseError):
    code, status, message = "UNSUPPORTED_FORMAT", 415, "不支持的文件格式"


class DatabaseConfigError(HaobanError):
    """database_url names a database the platform cannot use (unknown kind, or its driver is not installed)."""

    code, status, message = "DATABASE_CONFIG", 500, "数据库配置有误"


class EmbeddingUnavailable(HaobanError):
    code, status, message = "EMBEDDING_UNAVAILABLE", 503, "向量模型不可用"


class LLMError(HaobanError):
    """Base of the model-gateway errors; callers that only need "no answer from the model" catch this."""

    code, status, message = "LLM_ERROR", 502, "大模型服务调用失败"


class LLMUnavailable(LLMError):
    code, status, message = "LLM_UNAVAILABLE", 503, "未配置大模型服务，已使用无模型模式"


class LLMTimeout(LLMError):
    code, status, message = "LLM_TIMEOUT", 504, "大模型服务响应超时，请稍后重试"


class LLMBadOutput(LLMError):
    code, status, message = "LLM_BAD_OUTPUT", 502, "大模型返回的内容格式不正确"


class LLMRejected(LLMError):
    """The model server refused the request (4xx other than 429): bad key, unknown model, prompt too long."""

    code, status, message = "LLM_REJECTED", 502, "大模型服务拒绝了请求，请检查模型配置"


def exit_code(err: HaobanError) -> int:
    """CLI exit codes: 2 bad input, 3 not found, 4 conflict, 5 parse, 6 model service failed or unavailable, 1 other."""
    if isinstance(err, ParseError):
        return 5
    return {400: 2, 404: 3, 409: 4, 502: 6, 503: 6, 504: 6}.get(err.status, 1)


class Unauthorized(HaobanError):
    code, status, message = "UNAUTHORIZED", 401, "请先登录或提供有效的 API Key"


class Forbidden(HaobanError):
    code, status, message = "FORBIDDEN", 403, "没有权限执行此操作"


class IllegalTransition(Conflict):
    """A hotline work order was asked to move in a way its state machine does not allow."""

    code, status, message = "HOTLINE_ILLEGAL_TRANSITION", 409, "当前工单状态不允许该操作"


class RateLimited(HaobanError):
    code, status, message = "RATE_LIMITED", 429, "请求过于频繁，请稍后再试"


class TextTooLong(InvalidInput):
    """One call to the PII masker (or another whole-text check) got more text than it takes at once."""

    code, status, message = "TEXT_TOO_LONG", 413, "文本过长，请分段处理"


class ContentBlocked(HaobanError):
    """The guard refused the content (sensitive words of a blocking category, a refused topic)."""

    code, status, message = "CONTENT_BLOCKED", 422, "内容含有禁止类信息，已拦截"

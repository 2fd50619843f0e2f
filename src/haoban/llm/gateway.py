"""The model gateway: chat with any OpenAI-compatible server (vLLM, Ollama, Xinference, llama.cpp, hosted APIs).

    gateway = make_gateway(settings)
    if gateway.available:
        result = gateway.chat([ChatMessage(role="user", content="你好")], model="fast")
        for delta in gateway.stream(messages):
            ...

Named models (`default` from the `llm_*` settings, others from `llm_models`) are tried in the order
requested model → `llm_fallback` → `default`; a name that is not configured is skipped, so code may
ask for `fast` and still get an answer on a one-model deployment. A model that was unreachable is
tried last for the next 30 seconds, so one dead server does not slow every request down.

Every failure is one of the Chinese-message errors of haoban.errors (LLMUnavailable, LLMTimeout,
LLMBadOutput, LLMRejected); nothing waits without a bound: connecting has a short timeout, reading
a configurable one, and streaming an idle timeout between pieces of output.

Logs carry the model, latency, tokens and outcome of each call, never the prompt or the answer.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import random
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from haoban.config import Settings
from haoban.errors import InvalidInput, LLMBadOutput, LLMError, LLMRejected, LLMTimeout, LLMUnavailable
from haoban.llm.models import ChatMessage, ChatResult, ModelEndpoint, Usage
from haoban.logs import get_logger, log_event

__all__ = [
    "ChatMessage",
    "ChatResult",
    "ChatStream",
    "ModelEndpoint",
    "ModelGateway",
    "Usage",
    "endpoints_from_settings",
    "estimate_tokens",
    "make_gateway",
]

T = TypeVar("T", bound=BaseModel)
logger = get_logger("llm")

DEFAULT = "default"
DOWN_SECONDS = 30.0  # an unreachable model goes to the end of the chain for this long
MAX_RETRY_WAIT = 10.0  # cap on backoff and on a server's Retry-After
_OPTIONAL_KEYS = ("response_format", "stream_options")  # dropped once if a server rejects them
_OPENED = object()  # the stream generator's first item: a connection is open


# ---------------------------------------------------------------------------------------------- config


def endpoints_from_settings(settings: Settings) -> dict[str, ModelEndpoint]:
    """The configured named models. `default` comes from the `llm_*` fields (an `llm_models.default`
    entry may override parts of it); every other `llm_models` entry inherits the `llm_*` timeouts and
    retries, and the `llm_api_key` only when it points at the same server. An entry without a
    `base_url` is switched off."""
    shared: dict[str, Any] = {
        "timeout": settings.llm_timeout,
        "connect_timeout": settings.llm_connect_timeout,
        "stream_idle_timeout": settings.llm_stream_idle_timeout,
        "retries": settings.llm_retries,
    }
    default_url = (settings.llm_base_url or "").strip()
    raw: dict[str, dict[str, Any]] = {}
    if default_url:
        raw[DEFAULT] = {"base_url": default_url, "model": settings.llm_model, "api_key": settings.llm_api_key}
    for name, entry in settings.llm_models.items():
        if not isinstance(entry, dict):
            raise InvalidInput(f"大模型配置 llm_models.{name} 应为键值表", detail={"model": name})
        merged = {**raw.get(name, {}), **entry} if name == DEFAULT else dict(entry)
        if name != DEFAULT:
            merged.setdefault("model", name)
            same_server = default_url and str(merged.get("base_url") or "").rstrip("/") == default_url.rstrip(
                "/"
            )
            if same_server and settings.llm_api_key:
                merged.setdefault("api_key", settings.llm_api_key)
        raw[name] = merged

    endpoints: dict[str, ModelEndpoint] = {}
    for name, entry in raw.items():
        if not str(entry.get("base_url") or "").strip():
            continue
        try:
            endpoints[name] = ModelEndpoint(**{**shared, **entry, "name": name})
        except ValidationError as exc:
            problems = "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InvalidInput(f"大模型配置 {name} 不正确：{problems}", detail={"model": name}) from exc
    return endpoints


# ---------------------------------------------------------------------------------------------- tokens

_CJK = re.compile(r"[\u2e80-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """A rough count for servers that report no usage: about 0.7 token per Chinese character
    (Qwen/GLM/DeepSeek tokenizers) and one per four other characters."""
    if not text:
        return 0
    cjk = len(_CJK.findall(text))
    return max(1, math.ceil(cjk * 0.7 + (len(text) - cjk) / 4))


def _estimate_usage(messages: list[ChatMessage], completion: str) -> Usage:
    prompt = sum(estimate_tokens(m.content) + 4 for m in messages) + 2
    done = estimate_tokens(completion)
    return Usage(prompt_tokens=prompt, completion_tokens=done, total_tokens=prompt + done)


def _usage_from(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    try:
        prompt = int(raw.get("prompt_tokens") or 0)
        completion = int(raw.get("completion_tokens") or 0)
        total = int(raw.get("total_tokens") or 0) or prompt + completion
    except (TypeError, ValueError):
        return None
    if not total:
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


# ---------------------------------------------------------------------------------------------- output

_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.S)


def _strip_think(text: str) -> str:
    """Drop a reasoning model's leading <think>…</think>; also the form whose opening tag is in the
    chat template (output starts inside the block and only the closing tag appears)."""
    if "</think>" not in text:
        return "" if text.lstrip().startswith("<think>") else text
    if text.lstrip().startswith("<think>"):
        return _THINK.sub("", text, count=1)
    if "<think>" not in text:
        return text.split("</think>", 1)[1].lstrip()
    return text


class _ThinkFilter:
    """Streaming form of _strip_think for the leading-<think> case: holds back output until it is
    clear whether it starts with a reasoning block, and drops that block and the blank space after it."""

    def __init__(self) -> None:
        self._buf = ""
        self._state = "start"  # start → thinking → after → pass

    def feed(self, delta: str) -> str:
        if self._state == "pass":
            return delta
        if self._state == "after":
            delta = delta.lstrip()
            if delta:
                self._state = "pass"
            return delta
        self._buf += delta
        if self._state == "start":
            head = self._buf.lstrip()
            if head.startswith("<think>"):
                self._state = "thinking"
            elif "<think>".startswith(head):
                return ""  # still undecided (empty or a prefix of the tag)
            else:
                self._state, out, self._buf = "pass", self._buf, ""
                return out
        if "</think>" in self._buf:
            rest = self._buf.split("</think>", 1)[1]
            self._buf, self._state = "", "after"
            return self.feed(rest)
        return ""

    def flush(self) -> str:
        out = self._buf if self._state == "start" else ""
        self._buf = ""
        return out


def _snippet(resp: httpx.Response, limit: int = 300) -> str:
    try:
        return resp.text[:limit]
    except Exception:  # noqa: BLE001 - undecodable or unread body: the snippet is only a diagnostic
        return ""


def _server_error_message(body: Any) -> str:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)[:300]
    return str(error)[:300]


def _parse_completion(data: Any, name: str) -> tuple[str, str | None, Usage | None]:
    """(text, finish_reason, usage) of a non-streaming chat completion, or LLMBadOutput."""
    if not isinstance(data, dict):
        raise LLMBadOutput("大模型服务返回的内容不是对象", detail={"model": name})
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        if "error" in data:
            raise LLMBadOutput(f"大模型服务返回错误：{_server_error_message(data)}", detail={"model": name})
        raise LLMBadOutput("大模型服务返回的内容缺少 choices 字段", detail={"model": name})
    choice = choices[0]
    message = choice.get("message")
    if isinstance(message, dict):
        content = message.get("content")
        content = "" if content is None else content
    else:
        content = choice.get("text")  # completion-style servers
    if not isinstance(content, str):
        raise LLMBadOutput("大模型服务返回的内容缺少回答文本", detail={"model": name})
    finish = choice.get("finish_reason")
    return content, finish if isinstance(finish, str) else None, _usage_from(data.get("usage"))


_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.S)


def _parse_json(text: str, schema: type[T]) -> T:
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith(("{", "[")):
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("回复中没有 JSON 对象")
        body = body[start : end + 1]
    return schema.model_validate(json.loads(body))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "；".join(f"{'.'.join(map(str, e['loc'])) or '（根）'}: {e['msg']}" for e in exc.errors()[:5])
    if isinstance(exc, json.JSONDecodeError):
        return f"不是合法的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）"
    return str(exc)


def _coerce(messages: Iterable[ChatMessage | dict[str, Any]]) -> list[ChatMessage]:
    try:
        out = [m if isinstance(m, ChatMessage) else ChatMessage.model_validate(m) for m in messages]
    except ValidationError as exc:
        raise InvalidInput("对话消息格式不正确", detail={"errors": _describe(exc)}) from exc
    if not out:
        raise InvalidInput("对话消息不能为空")
    return out


def _with_instruction(messages: list[ChatMessage], instruction: str) -> list[ChatMessage]:
    if messages[0].role == "system":
        first = ChatMessage(role="system", content=f"{messages[0].content}\n\n{instruction}")
        return [first, *messages[1:]]
    return [ChatMessage(role="system", content=instruction), *messages]


# ---------------------------------------------------------------------------------------------- streaming


class _SSEReader:
    """Reads a streaming response on a helper thread so that the caller waits with deadlines of its
    own: `first_timeout` for the first piece of output (the server may spend long on the prompt),
    then `idle_timeout` between pieces. Yields each `data:` JSON object, and None for `[DONE]`."""

    def __init__(self, resp: httpx.Response, name: str, first_timeout: float, idle_timeout: float):
        self._resp = resp
        self._name = name
        self._first = first_timeout
        self._idle = idle_timeout
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._pump, name="haoban-llm-stream", daemon=True)
        self._thread.start()
        self.started = False  # set by the caller once real output arrived: switches to the idle timeout

    def _pump(self) -> None:
        try:
            for line in self._resp.iter_lines():
                self._queue.put(("line", line))
            self._queue.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self._queue.put(("error", exc))

    def events(self) -> Iterator[dict[str, Any] | None]:
        saw_data = False
        while True:
            timeout = self._idle if self.started else self._first
            try:
                kind, value = self._queue.get(timeout=timeout)
            except queue.Empty:
                if self.started:
                    raise LLMTimeout(
                        f"大模型服务超过 {timeout:g} 秒没有输出新内容，已中断", detail={"model": self._name}
                    ) from None
                raise LLMTimeout(
                    f"大模型服务超过 {timeout:g} 秒没有开始输出，已中断", detail={"model": self._name}
                ) from None
            if kind == "error":
                if isinstance(value, httpx.TimeoutException):
                    raise LLMTimeout("大模型服务响应超时", detail={"model": self._name}) from value
                raise LLMUnavailable(
                    "与大模型服务的连接中断，回答不完整",
                    detail={"model": self._name, "error": type(value).__name__},
                ) from value
            if kind == "end":
                if not saw_data:
                    raise LLMBadOutput("大模型服务返回的不是流式数据", detail={"model": self._name})
                return
            line: str = value
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, event:/id: fields
            payload = line[5:].strip()
            saw_data = True
            if payload == "[DONE]":
                yield None
                return
            try:
                obj = json.loads(payload)
            except ValueError:
                raise LLMBadOutput(
                    "大模型服务的流式输出中有无法解析的数据", detail={"model": self._name}
                ) from None
            if not isinstance(obj, dict):
                raise LLMBadOutput("大模型服务的流式输出格式不正确", detail={"model": self._name})
            if "error" in obj and not obj.get("choices"):
                raise LLMBadOutput(
                    f"大模型服务返回错误：{_server_error_message(obj)}", detail={"model": self._name}
                )
            yield obj

    def close(self, graceful: bool) -> None:
        if self._thread.is_alive():
            if graceful:
                self._thread.join(0.5)
            if self._thread.is_alive():
                _shutdown_socket(self._resp)  # wakes the helper thread out of a blocking read
                self._thread.join(1.0)
        self._resp.close()


def _shutdown_socket(resp: httpx.Response) -> None:
    try:
        stream = resp.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # noqa: BLE001 - best effort; the read timeout ends the thread anyway
        pass


class ChatStream(Iterator[str]):
    """The iterator `ModelGateway.stream` returns: text deltas. After exhaustion `model`, `usage`
    and `finish_reason` are set (use these rather than `gateway.last_usage` when several requests
    stream at once). `close()` stops early and releases the connection."""

    def __init__(self) -> None:
        self.model: str | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self._gen: Iterator[Any] = iter(())

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> str:
        return next(self._gen)

    def close(self) -> None:
        close = getattr(self._gen, "close", None)
        if close:
            close()


# ---------------------------------------------------------------------------------------------- gateway


class ModelGateway:
    def __init__(self, settings: Settings) -> None:
        self._endpoints = endpoints_from_settings(settings)
        self._fallback = [n for n in settings.llm_fallback if n]
        for name in self._fallback:
            if name not in self._endpoints:
                log_event(logger, "llm.fallback_unknown", logging.WARNING, model=name)
        self._clients = {name: self._make_client(ep) for name, ep in self._endpoints.items()}
        self._lock = threading.Lock()
        self._totals = {name: Usage() for name in self._endpoints}
        self._calls = dict.fromkeys(self._endpoints, 0)
        self._errors = dict.fromkeys(self._endpoints, 0)
        self._down_until: dict[str, float] = {}
        self._unsupported: dict[str, set[str]] = {name: set() for name in self._endpoints}
        self.last_usage: Usage | None = None

    @staticmethod
    def _make_client(ep: ModelEndpoint) -> httpx.Client:
        headers = {"Authorization": f"Bearer {ep.api_key}"} if ep.api_key else {}
        timeout = httpx.Timeout(ep.timeout, connect=ep.connect_timeout, pool=ep.connect_timeout)
        return httpx.Client(base_url=ep.base_url, headers=headers, timeout=timeout)

    # -- public -------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """True when at least one model endpoint is configured (not a health check)."""
        return bool(self._endpoints)

    @property
    def models(self) -> list[str]:
        return list(self._endpoints)

    def chat(
        self,
        messages: list[ChatMessage],
        *,
        model: str = DEFAULT,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        json_mode: bool = False,
        stop: list[str] | None = None,
    ) -> ChatResult:
        msgs = _coerce(messages)
        errors: list[tuple[str, LLMError]] = []
        for name in self._chain(model):
            ep = self._endpoints[name]
            payload = self._payload(
                ep, msgs, temperature, max_tokens, stop, json_mode=json_mode, stream=False
            )
            started = time.monotonic()
            try:
                result, estimated = self._chat_once(ep, payload, msgs)
            except LLMError as exc:
                self._record(name, model, started, None, exc, stream=False, estimated=False)
                errors.append((name, exc))
                continue
            self._record(name, model, started, result.usage, None, stream=False, estimated=estimated)
            self.last_usage = result.usage
            return result
        raise self._final_error(errors)

    def stream(
        self,
        messages: list[ChatMessage],
        *,
        model: str = DEFAULT,
        temperature: float = 0.2,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> ChatStream:
        """Text deltas. The connection is opened before this returns, so an unreachable or refusing
        server raises here (before an HTTP response to the user has started); a model that fails
        before its first piece of output is replaced by the next one in the chain."""
        msgs = _coerce(messages)
        chain = self._chain(model)
        result = ChatStream()
        gen = self._stream_gen(result, chain, msgs, model, temperature, max_tokens, stop)
        first = next(gen)
        assert first is _OPENED
        result._gen = gen
        return result

    def chat_json(
        self,
        messages: list[ChatMessage],
        schema: type[T],
        *,
        model: str = DEFAULT,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> T:
        """Ask for JSON (JSON mode plus the schema in the system prompt), validate it into `schema`;
        on failure ask once more with the error, then raise LLMBadOutput."""
        if not self._endpoints:
            raise LLMUnavailable()
        schema_text = json.dumps(schema.model_json_schema(), ensure_ascii=False)
        instruction = (
            f"只输出一个 JSON 对象，不要输出任何其他文字。JSON 必须符合以下 JSON Schema：\n{schema_text}"
        )
        msgs = _with_instruction(_coerce(messages), instruction)
        kwargs: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "temperature": temperature}
        first = self.chat(msgs, json_mode=True, **kwargs)
        try:
            return _parse_json(first.text, schema)
        except (ValueError, ValidationError) as exc:
            first_problem = _describe(exc)
        log_event(logger, "llm.json_repair", logging.WARNING, model=first.model, problem=first_problem[:200])
        repair = [
            *msgs,
            ChatMessage(role="assistant", content=first.text[:4000]),
            ChatMessage(
                role="user",
                content=f"上面的回复不符合要求：{first_problem}。请重新回答，只输出一个符合上述 JSON Schema 的 JSON 对象。",
            ),
        ]
        second = self.chat(repair, json_mode=True, **kwargs)
        try:
            return _parse_json(second.text, schema)
        except (ValueError, ValidationError) as exc:
            raise LLMBadOutput(
                "大模型未能按要求输出结构化结果，请重试或更换模型",
                detail={"model": second.model, "errors": [first_problem, _describe(exc)]},
            ) from exc

    def usage_totals(self) -> dict[str, Usage]:
        with self._lock:
            return {name: usage.model_copy() for name, usage in self._totals.items()}

    def status(self) -> dict[str, Any]:
        """For a status endpoint: configured models (no API keys), call counts, tokens, cool-downs."""
        now = time.monotonic()
        with self._lock:
            models = {
                name: {
                    **ep.public(),
                    "calls": self._calls[name],
                    "errors": self._errors[name],
                    "usage": self._totals[name].model_dump(),
                    "cooling_down": self._down_until.get(name, 0.0) > now,
                }
                for name, ep in self._endpoints.items()
            }
        return {"available": self.available, "fallback": list(self._fallback), "models": models}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> ModelGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routing and bookkeeping ----------------------------------------------------------------------

    def _chain(self, requested: str) -> list[str]:
        if not self._endpoints:
            raise LLMUnavailable()
        names: list[str] = []
        for name in (requested, *self._fallback, DEFAULT):
            if name in self._endpoints and name not in names:
                names.append(name)
        if not names:
            names = list(self._endpoints)
        now = time.monotonic()
        with self._lock:
            cooling = {n for n in names if self._down_until.get(n, 0.0) > now}
        return [n for n in names if n not in cooling] + [n for n in names if n in cooling]

    def _final_error(self, errors: list[tuple[str, LLMError]]) -> LLMError:
        name, exc = errors[0]
        if len(errors) > 1:
            exc.detail = {
                "model": name,
                "attempts": [{"model": n, "code": e.code, "message": e.message} for n, e in errors],
            }
        return exc

    def _record(
        self,
        name: str,
        requested: str,
        started: float,
        usage: Usage | None,
        error: LLMError | None,
        *,
        stream: bool,
        estimated: bool,
        outcome: str | None = None,
    ) -> None:
        latency_ms = round((time.monotonic() - started) * 1000)
        with self._lock:
            self._calls[name] += 1
            if usage is not None:
                self._totals[name] = self._totals[name] + usage
            if error is not None:
                self._errors[name] += 1
                if isinstance(error, LLMUnavailable):
                    self._down_until[name] = time.monotonic() + DOWN_SECONDS
            else:
                self._down_until.pop(name, None)
        fields: dict[str, Any] = {
            "model": name,
            "upstream_model": self._endpoints[name].model,
            "requested": requested,
            "stream": stream,
            "latency_ms": latency_ms,
            "outcome": outcome or ("error" if error else "ok"),
        }
        if usage is not None:
            fields.update(
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                usage_estimated=estimated,
            )
        if error is not None:
            fields["error"] = error.code
        log_event(logger, "llm.call", logging.WARNING if error else logging.INFO, **fields)

    # -- HTTP -----------------------------------------------------------------------------------------

    def _payload(
        self,
        ep: ModelEndpoint,
        msgs: list[ChatMessage],
        temperature: float,
        max_tokens: int | None,
        stop: list[str] | None,
        *,
        json_mode: bool,
        stream: bool,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            **ep.extra_body,
            "model": ep.model,
            "messages": [m.model_dump() for m in msgs],
            "temperature": temperature,
            "stream": stream,
        }
        if max_tokens is not None:
            payload["max_tokens"] = max_tokens
        if stop:
            payload["stop"] = list(stop)
        if json_mode:
            payload["response_format"] = {"type": "json_object"}
        if stream:
            payload["stream_options"] = {"include_usage": True}
        with self._lock:
            dropped = tuple(self._unsupported[ep.name])
        for key in dropped:
            payload.pop(key, None)
        return payload

    def _send(self, ep: ModelEndpoint, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        """POST /chat/completions with retries on connection failures, 429 and 5xx. If the server
        rejects the request and it carried an optional field (JSON mode, stream usage), try once
        without it and, when that works, leave the field out for this server from then on."""
        try:
            return self._send_retrying(ep, payload, stream=stream)
        except LLMRejected as exc:
            optional = [k for k in _OPTIONAL_KEYS if k in payload]
            if not optional or (exc.detail or {}).get("status") not in (400, 422):
                raise
            reduced = {k: v for k, v in payload.items() if k not in optional}
            resp = self._send_retrying(ep, reduced, stream=stream)
            with self._lock:
                self._unsupported[ep.name].update(optional)
            log_event(logger, "llm.option_unsupported", logging.WARNING, model=ep.name, options=optional)
            return resp

    def _send_retrying(self, ep: ModelEndpoint, payload: dict[str, Any], *, stream: bool) -> httpx.Response:
        client = self._clients[ep.name]
        timeout = httpx.Timeout(
            max(ep.timeout, ep.stream_idle_timeout) if stream else ep.timeout,
            connect=ep.connect_timeout,
            pool=ep.connect_timeout,
        )
        last: LLMError | None = None
        for attempt in range(ep.retries + 1):
            wait = min(ep.backoff * 2**attempt * (1 + random.random() / 4), MAX_RETRY_WAIT)
            try:
                request = client.build_request("POST", "/chat/completions", json=payload, timeout=timeout)
                resp = client.send(request, stream=stream)
            except (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError) as exc:
                last = LLMUnavailable(
                    f"无法连接大模型服务（{ep.name}），请检查服务地址和运行状态",
                    detail={"model": ep.name, "error": type(exc).__name__},
                )
            except (
                httpx.TimeoutException
            ) as exc:  # read or write: the server is slow, retrying doubles the wait
                raise LLMTimeout(
                    f"大模型服务（{ep.name}）超过 {ep.timeout:g} 秒未返回结果", detail={"model": ep.name}
                ) from exc
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
                last = LLMUnavailable(
                    f"与大模型服务（{ep.name}）的连接中断",
                    detail={"model": ep.name, "error": type(exc).__name__},
                )
            except httpx.HTTPError as exc:  # bad URL, unsupported scheme, proxy failure
                raise LLMUnavailable(
                    f"大模型服务（{ep.name}）地址无法访问，请检查配置",
                    detail={"model": ep.name, "error": type(exc).__name__},
                ) from exc
            else:
                status = resp.status_code
                if status < 400:
                    return resp
                if stream:
                    try:
                        resp.read()
                    except httpx.HTTPError:
                        pass
                body = _snippet(resp)
                resp.close()
                detail = {"model": ep.name, "status": status, "body": body}
                if status != 429 and status < 500:
                    raise LLMRejected(
                        f"大模型服务（{ep.name}）拒绝了请求（HTTP {status}），请检查模型配置", detail=detail
                    )
                if status == 429:
                    last = LLMUnavailable(
                        f"大模型服务（{ep.name}）繁忙（HTTP 429），请稍后重试", detail=detail
                    )
                    retry_after = resp.headers.get("retry-after", "")
                    if retry_after.strip().isdigit():
                        wait = min(max(wait, float(retry_after)), MAX_RETRY_WAIT)
                else:
                    last = LLMUnavailable(f"大模型服务（{ep.name}）内部错误（HTTP {status}）", detail=detail)
            if attempt < ep.retries:
                log_event(
                    logger,
                    "llm.retry",
                    logging.WARNING,
                    model=ep.name,
                    attempt=attempt + 1,
                    wait_s=round(wait, 2),
                )
                time.sleep(wait)
        assert last is not None
        raise last

    def _chat_once(
        self, ep: ModelEndpoint, payload: dict[str, Any], msgs: list[ChatMessage]
    ) -> tuple[ChatResult, bool]:
        """The answer, and whether its usage is an estimate (the server sent none)."""
        resp = self._send(ep, payload, stream=False)
        try:
            data = resp.json()
        except ValueError:
            raise LLMBadOutput(
                f"大模型服务（{ep.name}）返回的不是 JSON",
                detail={"model": ep.name, "body": _snippet(resp, 200)},
            ) from None
        text, finish, usage = _parse_completion(data, ep.name)
        if ep.strip_think:
            text = _strip_think(text)
        estimated = usage is None
        if usage is None:
            usage = _estimate_usage(msgs, text)
        return ChatResult(text=text, model=ep.name, usage=usage, finish_reason=finish), estimated

    def _stream_gen(
        self,
        out: ChatStream,
        chain: list[str],
        msgs: list[ChatMessage],
        requested: str,
        temperature: float,
        max_tokens: int | None,
        stop: list[str] | None,
    ) -> Iterator[Any]:
        errors: list[tuple[str, LLMError]] = []
        announced = False
        for name in chain:
            ep = self._endpoints[name]
            payload = self._payload(ep, msgs, temperature, max_tokens, stop, json_mode=False, stream=True)
            started = time.monotonic()
            try:
                resp = self._send(ep, payload, stream=True)
            except LLMError as exc:
                self._record(name, requested, started, None, exc, stream=True, estimated=False)
                errors.append((name, exc))
                continue
            parts: list[str] = []
            usage: Usage | None = None
            finish: str | None = None
            reader: _SSEReader | None = None
            graceful = False
            think = _ThinkFilter() if ep.strip_think else None
            try:
                if not announced:
                    announced = True
                    yield _OPENED
                if "text/event-stream" not in resp.headers.get(
                    "content-type", ""
                ) and "json" in resp.headers.get("content-type", ""):
                    # the server ignored stream=true and answered in one piece
                    try:
                        resp.read()
                        data = resp.json()
                    except httpx.TimeoutException as exc:
                        raise LLMTimeout(f"大模型服务（{name}）响应超时", detail={"model": name}) from exc
                    except (httpx.HTTPError, ValueError) as exc:
                        raise LLMBadOutput(
                            f"大模型服务（{name}）返回的内容无法解析", detail={"model": name}
                        ) from exc
                    text, finish, usage = _parse_completion(data, name)
                    text = _strip_think(text) if ep.strip_think else text
                    graceful = True
                    if text:
                        parts.append(text)
                        yield text
                else:
                    reader = _SSEReader(resp, name, ep.timeout, ep.stream_idle_timeout)
                    done = False
                    for event in reader.events():
                        if event is None:
                            done = True
                            break
                        usage = _usage_from(event.get("usage")) or usage
                        choices = event.get("choices") or []
                        choice = choices[0] if choices and isinstance(choices[0], dict) else {}
                        if isinstance(choice.get("finish_reason"), str):
                            finish = choice["finish_reason"]
                            reader.started = True
                        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
                        piece = (
                            delta.get("content")
                            if isinstance(delta.get("content"), str)
                            else choice.get("text")
                        )
                        if not isinstance(piece, str) or not piece:
                            continue
                        reader.started = True
                        piece = think.feed(piece) if think else piece
                        if piece:
                            parts.append(piece)
                            yield piece
                    if not done and finish is None:
                        raise LLMUnavailable(
                            f"与大模型服务（{name}）的连接中断，回答不完整", detail={"model": name}
                        )
                    graceful = True
                    tail = think.flush() if think else ""
                    if tail:
                        parts.append(tail)
                        yield tail
            except LLMError as exc:
                partial = _estimate_usage(msgs, "".join(parts)) if parts else None
                self._record(name, requested, started, partial, exc, stream=True, estimated=True)
                if parts:
                    raise
                errors.append((name, exc))
                continue
            except GeneratorExit:
                partial = _estimate_usage(msgs, "".join(parts))
                self._record(
                    name, requested, started, partial, None, stream=True, estimated=True, outcome="cancelled"
                )
                raise
            finally:
                if reader is not None:
                    reader.close(graceful)
                else:
                    resp.close()
            estimated = usage is None
            final = usage or _estimate_usage(msgs, "".join(parts))
            out.model, out.usage, out.finish_reason = name, final, finish
            self.last_usage = final
            self._record(name, requested, started, final, None, stream=True, estimated=estimated)
            return
        raise self._final_error(errors)


def make_gateway(settings: Settings) -> ModelGateway:
    return ModelGateway(settings)

"""The model gateway against a real llama.cpp server (SmolLM2-135M) and against a scripted stand-in.

The real model checks the wire format end to end; it is tiny and English-only, so those tests assert
structure, not quality. Behaviour a real server will not produce on demand (429s, stalls, garbage,
a chosen JSON answer) comes from `FakeOpenAI`, a standard-library HTTP server that plays back
scripted replies.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from conftest import make_settings
from haoban.config import Settings
from haoban.errors import HaobanError, LLMBadOutput, LLMRejected, LLMTimeout, LLMUnavailable
from haoban.llm.gateway import (
    ChatMessage,
    ChatResult,
    ModelGateway,
    Usage,
    _strip_think,
    _ThinkFilter,
    endpoints_from_settings,
    estimate_tokens,
    make_gateway,
)
from llm_server import llama_server  # noqa: F401  (session fixture: the real model server)

HELLO = [ChatMessage(role="user", content="Say hello.")]
FAST_BACKOFF = {"backoff": 0.02}  # keeps retry tests quick; production default is 0.5 s


# ---------------------------------------------------------------------------------------------- stand-in

Reply = Callable[[BaseHTTPRequestHandler], None]


def completion(text: str = "好的", *, usage: dict | None = None, finish: str = "stop") -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def json_reply(
    body: Any, status: int = 200, headers: dict[str, str] | None = None, delay: float = 0.0
) -> Reply:
    def reply(h: BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        raw_reply(json.dumps(body, ensure_ascii=False).encode(), status, "application/json", headers)(h)

    return reply


def raw_reply(
    data: bytes, status: int = 200, content_type: str = "text/plain", headers: dict[str, str] | None = None
) -> Reply:
    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    return reply


def sse_reply(
    events: list[Any], *, pause: float = 0.0, stall_after: int | None = None, stall: float = 0.0
) -> Reply:
    """Server-sent events: a dict is sent as `data: <json>`, a str starting with ":" as a comment line,
    any other str as `data: <str>` (so "[DONE]" and garbage). With `stall_after=n` the server goes
    quiet for `stall` seconds after n events."""

    def reply(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()
        for i, event in enumerate(events):
            if i == stall_after:
                time.sleep(stall)
            if isinstance(event, dict):
                line = f"data: {json.dumps(event, ensure_ascii=False)}"
            else:
                line = event if event.startswith(":") else f"data: {event}"
            h.wfile.write(f"{line}\n\n".encode())
            h.wfile.flush()
            time.sleep(pause)

    return reply


def chunk(content: str | None = None, finish: str | None = None, usage: dict | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    event: dict[str, Any] = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        event = {"object": "chat.completion.chunk", "choices": [], "usage": usage}
    return event


class FakeOpenAI:
    """Stand-in OpenAI-compatible server: plays `replies` in order, then answers "好的"."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append(json.loads(body or b"{}"))
                fake.headers.append(dict(self.headers))
                reply = fake.replies.popleft() if fake.replies else json_reply(completion())
                try:
                    reply(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def add(self, *replies: Reply) -> FakeOpenAI:
        self.replies.extend(replies)
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI()
    yield server
    server.close()


def dead_url() -> str:
    """A local port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def gateway_for(tmp_path: Path, base_url: str | None, **overrides: Any) -> ModelGateway:
    values: dict[str, Any] = {"llm_base_url": base_url, "llm_model": "test-model"}
    values.update(overrides)
    return make_gateway(make_settings(tmp_path, **values))


@pytest.fixture
def gw_factory(tmp_path: Path) -> Iterator[Callable[..., ModelGateway]]:
    made: list[ModelGateway] = []

    def make(base_url: str | None, **overrides: Any) -> ModelGateway:
        overrides.setdefault("llm_models", {"default": FAST_BACKOFF})
        gw = gateway_for(tmp_path, base_url, **overrides)
        made.append(gw)
        return gw

    yield make
    for gw in made:
        gw.close()


# ---------------------------------------------------------------------------------------------- no model


def test_no_endpoint_is_no_model_mode(tmp_path: Path) -> None:
    gw = make_gateway(make_settings(tmp_path))
    assert gw.available is False
    assert gw.status()["models"] == {}
    for call in (
        lambda: gw.chat(HELLO),
        lambda: gw.stream(HELLO),
        lambda: gw.chat_json(HELLO, Verdict),
    ):
        with pytest.raises(LLMUnavailable) as err:
            call()
        assert err.value.code == "LLM_UNAVAILABLE"
        assert err.value.status == 503
        assert "无模型模式" in err.value.message
    gw.close()


def test_blank_url_and_entries_without_url_are_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_base_url="  ", llm_models={"fast": {"model": "x"}})
    assert endpoints_from_settings(settings) == {}


# ---------------------------------------------------------------------------------------------- settings


def test_named_models_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAOBAN_LLM_BASE_URL", "http://10.0.0.1:8000/v1/")
    monkeypatch.setenv("HAOBAN_LLM_MODEL", "qwen2.5-7b-instruct")
    monkeypatch.setenv("HAOBAN_LLM_API_KEY", "sk-default")
    monkeypatch.setenv("HAOBAN_LLM_TIMEOUT", "45")
    monkeypatch.setenv(
        "HAOBAN_LLM_MODELS",
        json.dumps(
            {
                "fast": {"base_url": "http://10.0.0.2:8001/v1", "model": "qwen2.5-1.5b-instruct"},
                "same": {"base_url": "http://10.0.0.1:8000/v1", "model": "other", "timeout": 5},
            }
        ),
    )
    monkeypatch.setenv("HAOBAN_LLM_FALLBACK", '["fast"]')
    monkeypatch.setenv("HAOBAN_CONFIG", str(tmp_path / "absent.toml"))
    settings = Settings()
    assert settings.llm_fallback == ["fast"]
    eps = endpoints_from_settings(settings)
    assert eps["default"].base_url == "http://10.0.0.1:8000/v1"
    assert eps["default"].timeout == 45
    assert eps["fast"].timeout == 45  # inherited
    assert eps["fast"].api_key is None  # a different server never receives the default key
    assert eps["same"].api_key == "sk-default" and eps["same"].timeout == 5


def test_named_models_from_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "haoban.toml"
    toml.write_text(
        'llm_base_url = "http://127.0.0.1:8000/v1"\n'
        'llm_fallback = ["fast"]\n'
        "[llm_models.fast]\n"
        'base_url = "http://127.0.0.1:8001/v1"\n'
        'model = "small"\n'
        "retries = 0\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("HAOBAN_CONFIG", str(toml))
    eps = endpoints_from_settings(Settings())
    assert set(eps) == {"default", "fast"}
    assert eps["fast"].model == "small" and eps["fast"].retries == 0


def test_bad_model_config_is_a_clear_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, llm_models={"fast": {"base_url": "10.0.0.2:8001", "timeuot": 3}})
    with pytest.raises(HaobanError) as err:
        endpoints_from_settings(settings)
    assert "fast" in err.value.message and "不正确" in err.value.message


# ---------------------------------------------------------------------------------------------- chat


def test_chat_request_and_usage(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(
        json_reply(completion("你好", usage={"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}))
    )
    gw = gw_factory(fake.base_url, llm_api_key="sk-secret")
    result = gw.chat(HELLO, max_tokens=16, stop=["\n"], temperature=0.1)
    assert result == ChatResult(
        text="你好",
        model="default",
        usage=Usage(prompt_tokens=7, completion_tokens=2, total_tokens=9),
        finish_reason="stop",
    )
    sent = fake.requests[0]
    assert sent["model"] == "test-model" and sent["messages"] == [{"role": "user", "content": "Say hello."}]
    assert sent["max_tokens"] == 16 and sent["stop"] == ["\n"] and sent["temperature"] == 0.1
    assert sent["stream"] is False and "response_format" not in sent
    assert fake.headers[0]["Authorization"] == "Bearer sk-secret"
    assert gw.usage_totals()["default"].total_tokens == 9
    assert gw.last_usage and gw.last_usage.total_tokens == 9
    status = gw.status()
    assert status["models"]["default"]["calls"] == 1
    assert "sk-secret" not in json.dumps(status)


def test_dict_messages_and_json_mode_flag(fake: FakeOpenAI, gw_factory) -> None:
    gw = gw_factory(fake.base_url)
    gw.chat([{"role": "user", "content": "hi"}], json_mode=True)
    assert fake.requests[0]["response_format"] == {"type": "json_object"}


def test_usage_estimated_when_server_sends_none(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply(completion("这是一个没有用量统计的回答。")))
    gw = gw_factory(fake.base_url)
    usage = gw.chat([ChatMessage(role="user", content="请介绍一下办事流程")]).usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert estimate_tokens("") == 0 and estimate_tokens("一二三四五六七八九十") == 7


def test_empty_messages_rejected(fake: FakeOpenAI, gw_factory) -> None:
    with pytest.raises(HaobanError) as err:
        gw_factory(fake.base_url).chat([])
    assert err.value.status == 400


def test_think_block_removed(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(
        json_reply(completion("<think>先想一想</think>\n\n答案是三。")),
        json_reply(completion("想完了</think>答案")),
    )
    gw = gw_factory(fake.base_url)
    assert gw.chat(HELLO).text == "答案是三。"
    assert gw.chat(HELLO).text == "答案"
    assert _strip_think("没有推理段") == "没有推理段"
    flt = _ThinkFilter()
    assert (
        "".join(flt.feed(p) for p in ["<th", "ink>推理", "中</thi", "nk> 正文", "继续"]) + flt.flush()
        == "正文继续"
    )
    flt = _ThinkFilter()
    assert "".join(flt.feed(p) for p in ["<", "b>粗体"]) + flt.flush() == "<b>粗体"


# ---------------------------------------------------------------------------------------------- retries


def test_429_then_success_is_retried(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply({"error": {"message": "busy"}}, status=429, headers={"Retry-After": "0"}))
    fake.add(json_reply(completion("第二次成功")))
    gw = gw_factory(fake.base_url)
    assert gw.chat(HELLO).text == "第二次成功"
    assert len(fake.requests) == 2


def test_5xx_retried_then_unavailable(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(*[json_reply({"error": "boom"}, status=503) for _ in range(3)])
    gw = gw_factory(fake.base_url)
    with pytest.raises(LLMUnavailable) as err:
        gw.chat(HELLO)
    assert len(fake.requests) == 3  # one call + llm_retries (2)
    assert "503" in err.value.message
    assert gw.status()["models"]["default"]["errors"] == 1


def test_4xx_not_retried(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply({"error": {"message": "invalid api key"}}, status=401))
    gw = gw_factory(fake.base_url)
    with pytest.raises(LLMRejected) as err:
        gw.chat(HELLO)
    assert len(fake.requests) == 1
    assert err.value.code == "LLM_REJECTED" and "401" in err.value.message
    assert err.value.detail["body"].startswith('{"error"')


def test_json_mode_dropped_when_server_rejects_it(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply({"error": "response_format not supported"}, status=400), json_reply(completion("{}")))
    gw = gw_factory(fake.base_url)
    assert gw.chat(HELLO, json_mode=True).text == "{}"
    assert "response_format" in fake.requests[0] and "response_format" not in fake.requests[1]
    gw.chat(HELLO, json_mode=True)
    assert "response_format" not in fake.requests[2]  # remembered for this server


def test_server_down_is_unavailable_quickly(tmp_path: Path) -> None:
    gw = gateway_for(tmp_path, dead_url())  # production retry settings: 2 retries, 0.5 s backoff
    started = time.monotonic()
    with pytest.raises(LLMUnavailable) as err:
        gw.chat(HELLO)
    assert time.monotonic() - started < 10
    assert "无法连接大模型服务" in err.value.message
    gw.close()


def test_stream_to_dead_server_fails_on_open(gw_factory) -> None:
    with pytest.raises(LLMUnavailable):
        gw_factory(dead_url()).stream(HELLO)  # raised by stream() itself, before any iteration


# ---------------------------------------------------------------------------------------------- timeouts


def test_read_timeout(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply(completion("太晚了"), delay=3))
    gw = gw_factory(fake.base_url, llm_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as err:
        gw.chat(HELLO)
    assert time.monotonic() - started < 2.5
    assert err.value.code == "LLM_TIMEOUT" and err.value.status == 504 and "超过" in err.value.message
    assert len(fake.requests) == 1  # a slow model is not asked again


def test_stream_idle_timeout(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(sse_reply([chunk("第一段"), chunk("第二段"), "[DONE]"], stall_after=1, stall=3))
    gw = gw_factory(fake.base_url, llm_stream_idle_timeout=0.5)
    stream = gw.stream(HELLO)
    started = time.monotonic()
    assert next(stream) == "第一段"
    with pytest.raises(LLMTimeout) as err:
        next(stream)
    assert time.monotonic() - started < 2
    assert "没有输出新内容" in err.value.message


def test_stream_first_output_timeout_falls_back(fake: FakeOpenAI, gw_factory) -> None:
    slow = FakeOpenAI().add(sse_reply([": keep-alive", chunk("迟到"), "[DONE]"], stall_after=1, stall=3))
    try:
        fake.add(sse_reply([chunk("备用"), chunk("模型"), chunk(finish="stop"), "[DONE]"]))
        gw = gw_factory(
            slow.base_url,
            llm_timeout=0.5,
            llm_models={"default": FAST_BACKOFF, "fast": {"base_url": fake.base_url}},
            llm_fallback=["fast"],
        )
        stream = gw.stream(HELLO)
        assert "".join(stream) == "备用模型"
        assert stream.model == "fast"
    finally:
        slow.close()


# ---------------------------------------------------------------------------------------------- bad output


@pytest.mark.parametrize(
    "reply, fragment",
    [
        (raw_reply(b"<html>502 Bad Gateway</html>", content_type="text/html"), "不是 JSON"),
        (json_reply({"id": "x", "object": "chat.completion"}), "choices"),
        (
            json_reply(
                {"choices": [{"index": 0, "message": {"role": "assistant"}, "finish_reason": "stop"}]}
            ),
            None,
        ),
        (json_reply({"choices": [{"index": 0}]}), "回答文本"),
        (json_reply({"error": {"message": "model not loaded"}}), "model not loaded"),
        (json_reply([1, 2, 3]), "不是对象"),
    ],
)
def test_malformed_response(fake: FakeOpenAI, gw_factory, reply: Reply, fragment: str | None) -> None:
    fake.add(reply)
    gw = gw_factory(fake.base_url)
    if fragment is None:  # content: null is a legal empty answer
        assert gw.chat(HELLO).text == ""
        return
    with pytest.raises(LLMBadOutput) as err:
        gw.chat(HELLO)
    assert err.value.code == "LLM_BAD_OUTPUT" and fragment in err.value.message


def test_malformed_stream(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(sse_reply([chunk("好"), "这不是JSON", "[DONE]"]))
    gw = gw_factory(fake.base_url)
    stream = gw.stream(HELLO)
    assert next(stream) == "好"
    with pytest.raises(LLMBadOutput):
        list(stream)
    fake.add(raw_reply(b"plain text, not events"))
    with pytest.raises(LLMBadOutput):
        list(gw.stream(HELLO))


def test_stream_cut_off_is_reported(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(sse_reply([chunk("半"), chunk("句")]))  # connection closes: no finish_reason, no [DONE]
    stream = gw_factory(fake.base_url).stream(HELLO)
    with pytest.raises(LLMUnavailable) as err:
        list(stream)
    assert "不完整" in err.value.message


# ---------------------------------------------------------------------------------------------- streaming


def test_stream_deltas_and_server_usage(fake: FakeOpenAI, gw_factory) -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
    fake.add(
        sse_reply(
            [
                {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]},
                ": keep-alive",
                chunk("一"),
                chunk("二"),
                chunk("三"),
                chunk(finish="stop"),
                chunk(usage=usage),
                "[DONE]",
            ]
        )
    )
    gw = gw_factory(fake.base_url)
    stream = gw.stream(HELLO, max_tokens=8)
    assert list(stream) == ["一", "二", "三"]
    assert fake.requests[0]["stream"] is True
    assert fake.requests[0]["stream_options"] == {"include_usage": True}
    assert stream.usage == Usage(**usage) and stream.finish_reason == "stop" and stream.model == "default"
    assert gw.last_usage == Usage(**usage)
    assert gw.usage_totals()["default"] == Usage(**usage)


def test_stream_usage_estimated_and_stream_options_dropped(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply({"error": "unknown field stream_options"}, status=422))
    fake.add(sse_reply([chunk("没有"), chunk("用量"), chunk(finish="stop"), "[DONE]"]))
    gw = gw_factory(fake.base_url)
    stream = gw.stream(HELLO)
    assert "".join(stream) == "没有用量"
    assert "stream_options" not in fake.requests[1]
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    assert gw.last_usage == stream.usage


def test_stream_answered_in_one_piece(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(
        json_reply(
            completion("整段回答", usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3})
        )
    )
    stream = gw_factory(fake.base_url).stream(HELLO)
    assert list(stream) == ["整段回答"] and stream.usage.total_tokens == 3


def test_stream_closed_early(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(sse_reply([chunk(str(i)) for i in range(50)] + ["[DONE]"], pause=0.02))
    gw = gw_factory(fake.base_url)
    stream = gw.stream(HELLO)
    assert next(stream) == "0"
    started = time.monotonic()
    stream.close()
    assert time.monotonic() - started < 2.5
    assert gw.status()["models"]["default"]["calls"] == 1


def test_stream_think_block_removed(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(
        sse_reply(
            [
                chunk("<think>"),
                chunk("推理"),
                chunk("</think>"),
                chunk("\n结论"),
                chunk(finish="stop"),
                "[DONE]",
            ]
        )
    )
    assert "".join(gw_factory(fake.base_url).stream(HELLO)) == "结论"


# ---------------------------------------------------------------------------------------------- chat_json


class Verdict(BaseModel):
    answer: str
    score: int


def test_chat_json_success(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply(completion('```json\n{"answer": "可以办理", "score": 3}\n```')))
    gw = gw_factory(fake.base_url)
    verdict = gw.chat_json([ChatMessage(role="system", content="你是助手"), *HELLO], Verdict)
    assert verdict == Verdict(answer="可以办理", score=3)
    sent = fake.requests[0]
    assert sent["response_format"] == {"type": "json_object"} and sent["temperature"] == 0.0
    assert sent["messages"][0]["role"] == "system" and '"score"' in sent["messages"][0]["content"]
    assert sent["messages"][0]["content"].startswith("你是助手")


def test_chat_json_repair(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(
        json_reply(completion('{"answer": "可以办理"}')),
        json_reply(completion('{"answer": "可以办理", "score": 2}')),
    )
    gw = gw_factory(fake.base_url)
    assert gw.chat_json(HELLO, Verdict).score == 2
    repair = fake.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"answer": "可以办理"}'}
    assert "score" in repair[-1]["content"] and "JSON" in repair[-1]["content"]


def test_chat_json_gives_up_after_one_repair(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply(completion("不是 JSON")), json_reply(completion('{"answer": 1, "score": "高"}')))
    gw = gw_factory(fake.base_url)
    with pytest.raises(LLMBadOutput) as err:
        gw.chat_json(HELLO, Verdict)
    assert len(fake.requests) == 2
    assert "结构化结果" in err.value.message and len(err.value.detail["errors"]) == 2


# ---------------------------------------------------------------------------------------------- fallback


def test_fallback_chain_and_cool_down(fake: FakeOpenAI, gw_factory) -> None:
    fake.add(json_reply(completion("备用回答")))
    gw = gw_factory(
        dead_url(),
        llm_models={"default": FAST_BACKOFF, "fast": {"base_url": fake.base_url, "model": "small"}},
        llm_fallback=["fast"],
    )
    result = gw.chat(HELLO)
    assert result.model == "fast" and result.text == "备用回答"
    assert fake.requests[0]["model"] == "small"
    assert gw.status()["models"]["default"]["cooling_down"] is True
    assert gw._chain("default") == ["fast", "default"]  # the dead model is tried last for a while
    assert gw.usage_totals()["default"] == Usage()


def test_unknown_model_name_uses_the_chain(fake: FakeOpenAI, gw_factory) -> None:
    gw = gw_factory(fake.base_url)
    assert gw.chat(HELLO, model="fast").model == "default"


def test_all_models_down_reports_every_attempt(gw_factory) -> None:
    gw = gw_factory(
        dead_url(),
        llm_models={"default": FAST_BACKOFF, "fast": {"base_url": dead_url(), **FAST_BACKOFF}},
        llm_fallback=["fast"],
    )
    with pytest.raises(LLMUnavailable) as err:
        gw.chat(HELLO, model="fast")
    assert [a["model"] for a in err.value.detail["attempts"]] == ["fast", "default"]


# ---------------------------------------------------------------------------------------------- threads, logs


def test_concurrent_calls_count_exactly(fake: FakeOpenAI, gw_factory) -> None:
    usage = {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}
    fake.add(*[json_reply(completion("好", usage=usage), delay=0.01) for _ in range(40)])
    gw = gw_factory(fake.base_url)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                gw.chat(HELLO)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert gw.usage_totals()["default"] == Usage(prompt_tokens=80, completion_tokens=40, total_tokens=120)
    assert gw.status()["models"]["default"]["calls"] == 40


def test_logs_carry_numbers_not_prompts(fake: FakeOpenAI, gw_factory) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    log = logging.getLogger("haoban.llm")
    log.addHandler(handler)
    old_level = log.level
    log.setLevel(logging.INFO)
    try:
        gw = gw_factory(fake.base_url)
        secret = [ChatMessage(role="user", content="身份证号 110101199001011234")]
        gw.chat(secret)
        list(gw.stream(secret))
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)
    calls = [r for r in records if r.getMessage() == "llm.call"]
    assert [r.fields["stream"] for r in calls] == [False, True]
    for record in calls:
        assert {"model", "latency_ms", "prompt_tokens", "completion_tokens", "outcome"} <= set(record.fields)
        assert "110101199001011234" not in json.dumps(record.fields, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- real model


@pytest.fixture
def real_gw(llama_server: str, gw_factory) -> ModelGateway:  # noqa: F811
    return gw_factory(llama_server, llm_model="smollm2")


def test_real_chat(real_gw: ModelGateway) -> None:
    result = real_gw.chat([ChatMessage(role="user", content="What is the capital of France?")], max_tokens=16)
    assert result.model == "default"
    assert result.text.strip()
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.finish_reason in ("stop", "length")
    assert real_gw.usage_totals()["default"].total_tokens == result.usage.total_tokens


def test_real_stream(real_gw: ModelGateway) -> None:
    stream = real_gw.stream([ChatMessage(role="user", content="Count from one to ten.")], max_tokens=16)
    deltas = list(stream)
    assert len(deltas) >= 3
    assert "".join(deltas).strip()
    assert stream.usage is not None and stream.usage.completion_tokens > 0
    assert real_gw.last_usage == stream.usage
    assert real_gw.usage_totals()["default"] == stream.usage


class Capital(BaseModel):
    country: str
    capital: str


def test_real_json_mode(real_gw: ModelGateway) -> None:
    """JSON mode end to end (llama.cpp turns `response_format` into a JSON grammar). The 135M model
    is not reliable at following a schema: either the answer validates, or the repair path ends in
    a Chinese LLMBadOutput. Success and repair are pinned down with the stand-in server above."""
    question = [ChatMessage(role="user", content="Give the country France and its capital as JSON.")]
    try:
        value = real_gw.chat_json(question, Capital, max_tokens=32)
    except LLMBadOutput as err:
        assert "结构化结果" in err.message and len(err.detail["errors"]) == 2
    else:
        assert isinstance(value, Capital) and value.capital
    calls = real_gw.status()["models"]["default"]["calls"]
    assert calls in (1, 2) and real_gw.usage_totals()["default"].prompt_tokens > 0


def test_real_fallback(llama_server: str, gw_factory) -> None:  # noqa: F811
    gw = gw_factory(
        dead_url(),
        llm_models={"default": FAST_BACKOFF, "fast": {"base_url": llama_server, "model": "smollm2"}},
        llm_fallback=["fast"],
    )
    result = gw.chat([ChatMessage(role="user", content="Hello!")], model="default", max_tokens=16)
    assert result.model == "fast" and result.text.strip()

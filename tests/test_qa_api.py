"""The policy Q&A REST API (/api/qa) over a real HTTP server, called with httpx.

One server for the module, keyword retrieval only (embedding_backend "none"), the owned corpus in
the knowledge base 测试库. Streaming answers are read as Server-Sent Events with httpx's client.stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import CORPUS, admin_key, auth_headers, make_settings
from haoban.api.app import create_app
from haoban.apps.qa.service import MAX_QUESTION_CHARS, QAService
from haoban.knowledge.service import KnowledgeService
from server import running_server

QUESTION = "居住证签注怎么办理"
TITLE = "某市居住证管理办法"


def ingest(settings) -> None:
    service = KnowledgeService(settings, embedder=None)
    try:
        service.create_kb("测试库")
        report = service.ingest_paths("测试库", [CORPUS])
        assert report.failed == 0, report.files
    finally:
        service.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path_factory.mktemp("qa-api"))
    assert settings.embedding_backend == "none"
    ingest(settings)
    with (
        running_server(settings) as base,
        httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as client,
    ):
        yield client


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code, body
    assert chinese(body["message"]), "error messages are in Chinese"
    return body


def read_sse(resp: httpx.Response) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body into (event, data) pairs, line by line as it arrives."""
    events: list[tuple[str, dict]] = []
    name, data = "message", []
    for line in resp.iter_lines():
        if line == "":
            if data:
                events.append((name, json.loads("\n".join(data))))
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
    if data:
        events.append((name, json.loads("\n".join(data))))
    return events


def ask_stream(api: httpx.Client, **body) -> tuple[httpx.Response, list[tuple[str, dict]]]:
    with api.stream("POST", "/api/qa/ask", json={**body, "stream": True}) as resp:
        if resp.headers["content-type"].startswith("text/event-stream"):
            return resp, read_sse(resp)
        resp.read()
        return resp, []


def ask(api: httpx.Client, question: str, **body) -> dict:
    resp = api.post("/api/qa/ask", json={"question": question, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


# ---- answers ---------------------------------------------------------------------------------------


def test_answer_cites_the_regulation_and_the_span_maps_into_the_document(api: httpx.Client):
    answer = ask(api, QUESTION)
    assert answer["mode"] == "extractive"
    assert answer["question"] == QUESTION and answer["rewritten_question"] == QUESTION
    assert answer["intent"] == "办事"
    assert 0.0 <= answer["confidence"] <= 1.0
    assert answer["citations"], answer
    first = answer["citations"][0]
    assert first["n"] == 1 and first["title"] == TITLE
    assert "签注" in answer["text"] and "[1]" in answer["text"]
    assert answer["notice"] and "向量" in answer["notice"]  # keyword retrieval only
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["text"]
        doc = api.get(f"/api/documents/{c['document_id']}").json()
        assert doc["text"][c["start"] : c["end"]] == c["passage"]
        assert c["highlights"]
        for s, e in c["highlights"]:
            assert 0 <= s < e <= len(c["passage"])
    sentence = first["passage"][slice(*first["highlights"][0])]
    assert "签注" in sentence and sentence[:10] in answer["text"]
    assert answer["related_questions"] and all(q != QUESTION for q in answer["related_questions"])


def test_kbs_may_be_named_and_unknown_ones_are_reported(api: httpx.Client):
    answer = ask(api, QUESTION, kbs=["测试库"])
    assert answer["citations"][0]["title"] == TITLE
    assert_error(
        api.post("/api/qa/ask", json={"question": QUESTION, "kbs": ["没有这个库"]}), 404, "KB_NOT_FOUND"
    )


def test_out_of_scope_question_is_refused_with_a_hand_off(api: httpx.Client):
    answer = ask(api, "怎么做红烧肉")
    assert answer["mode"] == "refusal"
    assert answer["citations"] == []
    assert "12345" in answer["text"] and "转人工" in answer["text"]
    assert answer["suggestions"] and all(s.startswith("《") for s in answer["suggestions"])


# ---- streaming -------------------------------------------------------------------------------------


def test_stream_sends_meta_deltas_done_and_done_is_what_is_stored(api: httpx.Client):
    resp, events = ask_stream(api, question=QUESTION)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["cache-control"] == "no-cache"
    names = [name for name, _ in events]
    assert names[0] == "meta" and names[-1] == "done", names
    assert set(names[1:-1]) == {"delta"} and len(names) >= 3, names

    meta = events[0][1]
    assert (
        meta["question"] == QUESTION and meta["rewritten_question"] == QUESTION and meta["intent"] == "办事"
    )
    done = events[-1][1]
    assert done["replaced"] is False
    answer = done["answer"]
    assert answer["message_id"] == meta["message_id"] and answer["conversation_id"] == meta["conversation_id"]
    assert "".join(data["text"] for name, data in events if name == "delta") == answer["text"]
    assert answer["citations"][0]["title"] == TITLE

    conv = api.get(f"/api/qa/conversations/{meta['conversation_id']}").json()
    stored = next(m for m in conv["messages"] if m["id"] == meta["message_id"])
    assert stored["answer"] == answer
    assert stored["question"] == QUESTION and stored["mode"] == answer["mode"] and stored["helpful"] is None


def test_streamed_refusal(api: httpx.Client):
    _, events = ask_stream(api, question="怎么做红烧肉")
    assert [n for n, _ in events][0] == "meta" and events[-1][0] == "done"
    assert events[-1][1]["answer"]["mode"] == "refusal"
    assert "12345" in "".join(d["text"] for n, d in events if n == "delta")


def test_follow_up_is_rewritten_with_the_earlier_topic(api: httpx.Client):
    first = ask(api, "居住证怎么办理")
    second = ask(api, "需要什么材料", conversation_id=first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]
    assert second["question"] == "需要什么材料"
    assert "居住证" in second["rewritten_question"] and "材料" in second["rewritten_question"]
    assert second["citations"] and second["citations"][0]["title"] == TITLE

    # The same through the stream: the rewritten question is in meta already.
    _, events = ask_stream(api, question="多久能办好", conversation_id=first["conversation_id"])
    meta, done = events[0][1], events[-1][1]
    assert meta["conversation_id"] == first["conversation_id"]
    assert "居住证" in meta["rewritten_question"]
    assert done["answer"]["rewritten_question"] == meta["rewritten_question"]

    conv = api.get(f"/api/qa/conversations/{first['conversation_id']}").json()
    assert [m["question"] for m in conv["messages"]] == ["居住证怎么办理", "需要什么材料", "多久能办好"]
    assert [m["seq"] for m in conv["messages"]] == [1, 2, 3]
    assert conv["title"] == "居住证怎么办理"


# ---- input errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("question", "code"),
    [
        ("", "QUESTION_EMPTY"),
        ("  \n\t ", "QUESTION_EMPTY"),
        ("问" * (MAX_QUESTION_CHARS + 1), "QUESTION_TOO_LONG"),
    ],
)
def test_bad_questions_are_json_400_even_when_streaming(
    api: httpx.Client, question: str, code: str, stream: bool
):
    before = len(api.get("/api/qa/conversations", params={"limit": 200}).json())
    resp = api.post("/api/qa/ask", json={"question": question, "stream": stream})
    body = assert_error(resp, 400, code)
    if code == "QUESTION_EMPTY":
        assert body["message"] == "问题不能为空"
    else:
        assert str(MAX_QUESTION_CHARS) in body["message"]
    assert len(api.get("/api/qa/conversations", params={"limit": 200}).json()) == before  # nothing stored


def test_malformed_requests_are_422_in_chinese(api: httpx.Client):
    assert_error(api.post("/api/qa/ask", json={}), 422, "INVALID_INPUT")
    assert_error(
        api.post("/api/qa/ask", content=b"{", headers={"content-type": "application/json"}),
        422,
        "INVALID_INPUT",
    )
    assert_error(api.get("/api/qa/conversations", params={"limit": 0}), 422, "INVALID_INPUT")


@pytest.mark.parametrize("stream", [False, True])
def test_unknown_conversation_is_404(api: httpx.Client, stream: bool):
    missing = "01nonexistentconversation0"
    assert_error(api.get(f"/api/qa/conversations/{missing}"), 404, "CONVERSATION_NOT_FOUND")
    assert_error(api.delete(f"/api/qa/conversations/{missing}"), 404, "CONVERSATION_NOT_FOUND")
    resp = api.post(
        "/api/qa/ask", json={"question": "需要什么材料", "conversation_id": missing, "stream": stream}
    )
    body = assert_error(resp, 404, "CONVERSATION_NOT_FOUND")
    assert "会话" in body["message"]


# ---- feedback ----------------------------------------------------------------------------------------


def test_feedback_is_stored_and_unknown_messages_are_404(api: httpx.Client):
    answer = ask(api, QUESTION)
    url = f"/api/qa/messages/{answer['message_id']}/feedback"
    resp = api.post(url, json={"helpful": False, "comment": "想知道在哪个派出所办"})
    assert resp.status_code == 204 and resp.content == b""
    message = api.get(f"/api/qa/conversations/{answer['conversation_id']}").json()["messages"][0]
    assert message["helpful"] is False and message["feedback_comment"] == "想知道在哪个派出所办"

    assert api.post(url, json={"helpful": True}).status_code == 204  # the latest counts
    message = api.get(f"/api/qa/conversations/{answer['conversation_id']}").json()["messages"][0]
    assert message["helpful"] is True and message["feedback_comment"] == ""

    body = assert_error(
        api.post("/api/qa/messages/01nonexistentmessage00000/feedback", json={"helpful": True}),
        404,
        "MESSAGE_NOT_FOUND",
    )
    assert body["detail"] is None and "回答" in body["message"]
    assert_error(api.post(url, json={"helpful": True, "comment": "长" * 1001}), 422, "INVALID_INPUT")
    assert_error(api.post(url, json={"comment": "没有评价"}), 422, "INVALID_INPUT")


# ---- conversations ---------------------------------------------------------------------------------


def test_conversations_are_listed_newest_first_and_deleted(api: httpx.Client):
    older = ask(api, "小微企业融资担保费率是多少")
    newer = ask(api, "垃圾分类条例什么时候施行")
    ask(api, "违反了会罚款多少", conversation_id=newer["conversation_id"])

    listed = api.get("/api/qa/conversations").json()
    ids = [c["id"] for c in listed]
    assert ids.index(newer["conversation_id"]) < ids.index(older["conversation_id"])
    mine = next(c for c in listed if c["id"] == newer["conversation_id"])
    assert mine["title"] == "垃圾分类条例什么时候施行"
    assert mine["message_count"] == 2 and mine["last_question"] == "违反了会罚款多少"
    assert mine["updated_at"] >= mine["created_at"]
    assert len(api.get("/api/qa/conversations", params={"limit": 1}).json()) == 1

    resp = api.delete(f"/api/qa/conversations/{older['conversation_id']}")
    assert resp.status_code == 204
    assert older["conversation_id"] not in [c["id"] for c in api.get("/api/qa/conversations").json()]
    assert_error(api.get(f"/api/qa/conversations/{older['conversation_id']}"), 404, "CONVERSATION_NOT_FOUND")
    # Its messages went with it: feedback on them is refused.
    assert_error(
        api.post(f"/api/qa/messages/{older['message_id']}/feedback", json={"helpful": True}),
        404,
        "MESSAGE_NOT_FOUND",
    )


# ---- a model that misbehaves mid-stream ----------------------------------------------------------------


class ScriptedModel:
    """A stand-in model gateway: streams fixed pieces, then (optionally) fails."""

    available = True

    def __init__(self, pieces: list[str], fail: BaseException | None = None):
        self.pieces = pieces
        self.fail = fail

    def chat(self, messages, **kwargs):  # only used to rewrite follow-ups, which these tests do not ask
        raise AssertionError("not expected")

    def stream(self, messages, **kwargs) -> Iterator[str]:
        yield from self.pieces
        if self.fail is not None:
            raise self.fail

    def close(self) -> None:
        pass


def test_model_answer_failing_the_citation_check_is_replaced_and_errors_come_in_band(tmp_path: Path):
    settings = make_settings(tmp_path)
    ingest(settings)
    app = create_app(settings)
    with (
        running_server(settings, app=app) as base,
        httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as client,
    ):
        app.state.qa = QAService(app.state.service, ScriptedModel(["居住证每年", "签注一次[9]。"]))
        _, events = ask_stream(client, question="居住证多久签注一次")
        deltas = "".join(d["text"] for n, d in events if n == "delta")
        assert deltas.startswith("居住证每年签注一次[9]。")  # what the model said, as it said it
        done = events[-1][1]
        assert events[-1][0] == "done" and done["replaced"] is True
        assert done["answer"]["mode"] == "extractive" and "[9]" not in done["answer"]["text"]
        assert "引用核验" in done["answer"]["notice"]
        stored = client.get(f"/api/qa/conversations/{done['answer']['conversation_id']}").json()
        assert stored["messages"][0]["answer"] == done["answer"]

        # An unexpected failure after the stream started is reported as an "error" event, in Chinese.
        app.state.qa = QAService(app.state.service, ScriptedModel(["居住证"], fail=RuntimeError("boom")))
        resp, events = ask_stream(client, question="居住证多久签注一次")
        assert resp.status_code == 200
        assert [n for n, _ in events][0] == "meta" and events[-1][0] == "error"
        error = events[-1][1]
        assert (
            error["code"] == "INTERNAL_ERROR"
            and chinese(error["message"])
            and "boom" not in json.dumps(error)
        )

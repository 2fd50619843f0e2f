"""The REST API over a real HTTP server (uvicorn on 127.0.0.1), called with httpx."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import CORPUS, admin_key, auth_headers
from server import running_server


@pytest.fixture
def api(settings):
    with (
        running_server(settings) as base,
        httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as client,
    ):
        yield client


def upload(api: httpx.Client, kb: str, *paths: Path, **form) -> httpx.Response:
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    return api.post(f"/api/kbs/{kb}/documents", files=files, data=form)


def assert_error(resp: httpx.Response, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "message", "detail"} and body["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), "error messages are in Chinese"
    return body


def test_kb_documents_search_flow(api: httpx.Client):
    assert api.get("/api/health").json()["status"] == "ok"
    kb = api.post("/api/kbs", json={"name": "政策库", "description": "测试"})
    assert kb.status_code == 201
    kb_id = kb.json()["id"]
    assert kb.json()["created_at"].endswith(("Z", "+00:00"))

    report = upload(api, kb_id, *sorted(CORPUS.iterdir()), tags="测试,样例").json()
    assert report["added"] == 5 and report["failed"] == 0
    assert all(f["source"].startswith("upload:") for f in report["files"])

    page = api.get(f"/api/kbs/{kb_id}/documents", params={"limit": 2}).json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert page["items"][0]["tags"] == ["测试", "样例"]

    res = api.post(
        "/api/search", json={"query": "租房提取住房公积金要什么材料", "kbs": ["政策库"], "top_k": 3}
    ).json()
    hit = res["hits"][0]
    assert hit["citation"]["title"] == "住房公积金提取指南"
    doc = api.get(f"/api/documents/{hit['citation']['document_id']}").json()
    assert doc["text"][hit["citation"]["start"] : hit["citation"]["end"]] == hit["text"]

    got = api.get("/api/search", params={"q": "融资担保", "kb": kb_id, "issuer": "某省人民政府办公厅"}).json()
    assert got["hits"] and {h["citation"]["issuer"] for h in got["hits"]} == {"某省人民政府办公厅"}

    # 效力 and deletion
    doc_id = got["hits"][0]["citation"]["document_id"]
    assert (
        api.patch(f"/api/documents/{doc_id}", json={"validity": "repealed"}).json()["validity"] == "repealed"
    )
    assert all(
        h["citation"]["document_id"] != doc_id
        for h in api.get("/api/search", params={"q": "融资担保"}).json()["hits"]
    )
    assert api.delete(f"/api/documents/{doc_id}").status_code == 204
    assert_error(api.get(f"/api/documents/{doc_id}"), 404, "DOC_NOT_FOUND")

    text = api.post(
        f"/api/kbs/{kb_id}/texts",
        json={"text": "关于调整高温津贴标准的通知。每人每月300元。", "meta": {"title": "高温津贴通知"}},
    )
    assert text.json()["added"] == 1
    assert (
        api.get("/api/search", params={"q": "高温津贴"}).json()["hits"][0]["citation"]["title"]
        == "高温津贴通知"
    )

    assert api.delete(f"/api/kbs/{kb_id}").status_code == 204
    assert_error(api.get(f"/api/kbs/{kb_id}"), 404, "KB_NOT_FOUND")


def test_bad_uploads_are_reported_per_file(api: httpx.Client, tmp_path: Path):
    api.post("/api/kbs", json={"name": "库"})
    files = [
        ("files", ("../../etc/passwd.txt", "路径穿越的文件名只保留文件名本身。".encode())),
        ("files", ("坏.pdf", b"%PDF-1.7 broken")),
        ("files", ("空.txt", b"")),
        ("files", ("程序.exe", b"MZ\x90\x00")),
        ("files", ("gbk.txt", "国务院办公厅关于做好防汛工作的通知".encode("gb18030"))),
    ]
    report = api.post("/api/kbs/库/documents", files=files).json()
    outcome = {f["source"]: (f["status"], f.get("code")) for f in report["files"]}
    assert outcome["upload:passwd.txt"] == ("added", None)
    assert outcome["upload:坏.pdf"] == ("failed", "FILE_CORRUPT")
    assert outcome["upload:空.txt"] == ("failed", "FILE_EMPTY")
    assert outcome["upload:程序.exe"] == ("failed", "UNSUPPORTED_FORMAT")
    assert outcome["upload:gbk.txt"] == ("added", None)
    assert not (tmp_path / "etc").exists()


def test_upload_size_limit(tmp_path: Path):
    from conftest import make_settings

    settings = make_settings(tmp_path, max_file_mb=0.01)
    with (
        running_server(settings) as base,
        httpx.Client(base_url=base, timeout=60, headers=auth_headers(admin_key(settings))) as api,
    ):
        api.post("/api/kbs", json={"name": "库"})
        big = ("files", ("大.txt", ("很长的文本。" * 5000).encode()))
        body = assert_error(api.post("/api/kbs/库/documents", files=[big]), 413, "FILE_TOO_LARGE")
        assert body["detail"] == {"file": "大.txt"}
        assert api.get("/api/kbs/库").json()["document_count"] == 0


def test_errors_are_json_in_chinese(api: httpx.Client):
    assert_error(api.post("/api/kbs", json={"name": ""}), 400, "KB_NAME_INVALID")
    api.post("/api/kbs", json={"name": "甲"})
    assert_error(api.post("/api/kbs", json={"name": "甲"}), 409, "KB_EXISTS")
    assert_error(
        api.post("/api/kbs", content=b"not json", headers={"content-type": "application/json"}),
        422,
        "INVALID_INPUT",
    )
    assert_error(api.post("/api/search", json={"query": ""}), 400, "QUERY_EMPTY")
    assert_error(api.post("/api/search", json={"query": "查" * 2000}), 400, "QUERY_TOO_LONG")
    assert_error(api.post("/api/search", json={"query": "居住证", "top_k": 1000}), 400, "INVALID_INPUT")
    assert_error(api.get("/api/search", params={"q": "x", "date_from": "2019年"}), 422, "INVALID_INPUT")
    assert_error(api.get("/api/kbs/不存在/documents"), 404, "KB_NOT_FOUND")
    assert_error(api.get("/api/no-such-route"), 404, "NOT_FOUND")
    assert_error(api.post("/api/kbs/甲/texts", json={"text": "   "}), 400, "TEXT_EMPTY")
    resp = api.get("/api/health")
    assert resp.headers["x-request-id"]


def test_openapi_and_docs_work_offline(api: httpx.Client):
    spec = api.get("/openapi.json").json()
    assert "/api/search" in spec["paths"] and "/api/kbs/{kb}/documents" in spec["paths"]
    docs = api.get("/docs").text
    assert "cdn" not in docs.lower() and "swagger" in docs.lower()

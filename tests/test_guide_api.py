"""/api/guide over a real HTTP server (uvicorn on a local port), demo catalogue loaded before start."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from openpyxl import load_workbook

from conftest import admin_key, auth_headers, make_settings
from haoban.apps.guide import ensure_demo_catalogue
from haoban.knowledge.service import KnowledgeService
from server import running_server


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):
    settings = make_settings(tmp_path_factory.mktemp("guide-api"))
    svc = KnowledgeService(settings, embedder=None)
    try:
        assert ensure_demo_catalogue(svc) is not None
    finally:
        svc.close()
    key = admin_key(settings)
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.key = key
        yield client


def test_match_question_follow_up_checklist(api: httpx.Client):
    stats = api.get("/api/guide/stats").json()
    assert stats["items"] >= 60 and stats["bundles"] >= 8
    r = api.post("/api/guide/match", json={"query": "我刚生了孩子要办什么"})
    assert r.status_code == 200 and r.json()["candidates"][0]["code"] == "LE-BIRTH"
    q = api.post("/api/guide/match", json={"query": "身份证丢了"}).json()
    assert q["questions"][0]["key"] == "户籍地"
    f = api.post("/api/guide/match", json={"query": "身份证丢了", "answers": {"户籍地": "本地"}}).json()
    assert f["candidates"][0]["situation"] == "local" and f["questions"] == []
    c = api.post("/api/guide/checklist", json={"code": "GA-SFZ-002", "answers": {"户籍地": "本地"}}).json()
    assert c["situation"] == {"GA-SFZ-002": "在户籍地补领"} and c["promised_days"] == 20
    item = api.get("/api/guide/items/GA-SFZ-002").json()
    assert item["legal_basis"] and item["situations"]
    assert len(api.get("/api/guide/bundles").json()) >= 8


def test_precheck_and_policies(api: httpx.Client):
    r = api.post("/api/guide/precheck", json={"code": "MZ-HY-001", "answers": {"婚姻状况": "初婚"}, "provided": ["双方身份证"],
                                              "fields": {"id_number": "11010519491231002X", "id_number_2": "11010519491231002Y", "phone": "13800138000"}})  # fmt: skip
    body = r.json()
    assert r.status_code == 200 and not body["passed"]
    assert "女方身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X" in [
        f["message"] for f in body["findings"]
    ]
    m = api.post(
        "/api/guide/policies/match",
        json={
            "profile": {
                "size": "小型",
                "area": "本市",
                "established": "2025-01-01",
                "qualifications": ["依法参加失业保险"],
                "headcount": 12,
            }
        },
    ).json()
    assert m[0]["eligible"] and all("explanation" in c for c in m[0]["checks"])
    draft = {"text": "成立不超过5年的小微企业", "use_model": False}
    # Drafting conditions is catalogue work: a visitor is refused, a maintainer gets the draft.
    assert api.post("/api/guide/policies/draft", json=draft).status_code == 403
    d = api.post("/api/guide/policies/draft", json=draft, headers=auth_headers(api.key)).json()
    assert {"field": "age_years", "op": "<=", "value": 5.0, "label": "成立不超过5年"} in d


def test_bad_input_is_chinese_json(api: httpx.Client):
    r = api.post("/api/guide/match", json={"query": "  "})
    assert r.status_code == 400 and r.json()["message"] == "请描述您要办理的事情"
    r = api.get("/api/guide/items/NOPE")
    assert r.status_code == 404 and r.json()["code"] == "GUIDE_ITEM_NOT_FOUND"
    r = api.post("/api/guide/match", json={"query": "x", "k": 0})
    assert r.status_code == 422


def test_import_needs_rights_and_is_all_or_nothing(api: httpx.Client):
    files = {
        "file": (
            "目录.csv",
            "事项编码,事项名称,实施部门\nN-1,新事项,测试局\nN-2,,测试局\n".encode(),
            "text/csv",
        )
    }
    anon = api.post("/api/guide/import", files=files)
    assert anon.status_code in (401, 403)
    r = api.post("/api/guide/import", files=files, headers=auth_headers(api.key))
    assert r.status_code == 400
    body = r.json()
    assert (
        body["code"] == "GUIDE_IMPORT_INVALID"
        and body["detail"][0]["row"] == 3
        and "第 3 行" in body["message"]
    )
    assert api.get("/api/guide/items/N-1").status_code == 404
    good = {
        "file": (
            "目录.json",
            json.dumps(
                {"items": [{"code": "N-1", "name": "无人机飞行活动报备", "department": "市公安局"}]},
                ensure_ascii=False,
            ).encode(),
            "application/json",
        )
    }
    ok = api.post("/api/guide/import", files=good, headers=auth_headers(api.key))
    assert ok.status_code == 200 and ok.json()["created"] == 1
    assert (
        api.post("/api/guide/match", json={"query": "无人机飞行报备"}).json()["candidates"][0]["code"]
        == "N-1"
    )


def test_export_xlsx(api: httpx.Client):
    r = api.get("/api/guide/export", params={"format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["事项", "一件事", "惠企政策", "同义词"] and wb["事项"].max_row > 60
    assert api.get("/api/guide/export", params={"format": "doc"}).status_code == 422

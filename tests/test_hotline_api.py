"""Hotline API on a real HTTP server: intake → queue → detail → transitions, illegal moves (409), auth, classify."""

from __future__ import annotations

import httpx
import pytest

from conftest import admin_key, auth_headers, make_settings
from haoban.apps.hotline import HotlineService
from haoban.knowledge.service import KnowledgeService
from server import running_server


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("hotline-api"))
    ks = KnowledgeService(settings, embedder=None)
    HotlineService(ks).load_demo(limit=90)
    ks.close()
    key = admin_key(settings)
    with running_server(settings) as url, httpx.Client(base_url=url, headers=auth_headers(key), timeout=60) as client:
        yield client, url


def test_ticket_flow_over_http(api):
    client, _ = api
    r = client.post("/api/hotline/tickets", json={"text": "锦绣花园门口每天晚上流动摊贩占道经营", "caller_phone": "13700001111"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["department"] == "区城市管理和综合执法局" and t["caller_masked"] != "13700001111"
    assert t["suggestion"]["rules"][0]["id"] == "QZ-04"
    d = client.get(f"/api/hotline/tickets/{t['number']}").json()
    assert {"action": "dispatch", "label": "派单", "needs": ["department"]} in d["allowed_actions"] and d["suggested_reply"]
    r = client.post(f"/api/hotline/tickets/{t['id']}/transitions", json={"action": "close"})
    assert r.status_code == 409 and r.json()["code"] == "HOTLINE_ILLEGAL_TRANSITION" and "不能执行" in r.json()["message"]
    r = client.post(f"/api/hotline/tickets/{t['id']}/transitions", json={"action": "dispatch", "department": t["department"]})
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    r = client.post(f"/api/hotline/tickets/{t['id']}/transitions", json={"action": "visit", "satisfaction": "很好"})
    assert r.status_code == 422 and r.json()["code"] == "INVALID_INPUT"
    page = client.get("/api/hotline/tickets", params={"status": "dispatched"}).json()
    assert t["id"] in [x["id"] for x in page["items"]]


def test_bad_input_and_auth(api):
    client, url = api
    assert client.post("/api/hotline/tickets", json={"text": ""}).status_code == 422
    assert client.get("/api/hotline/tickets/nope").status_code == 404
    assert client.get("/api/hotline/tickets", params={"status": "flying"}).json()["code"] == "HOTLINE_STATUS_INVALID"
    r = httpx.get(f"{url}/api/hotline/tickets")  # visitors may not read work orders
    assert r.status_code in (401, 403)


def test_classify_stats_overdue(api):
    client, _ = api
    r = client.post("/api/hotline/classify", json={"texts": ["公司三个月不发工资", "请问孩子疫苗在哪里接种"]})
    assert r.status_code == 200
    a, b = r.json()
    assert a["department"] == "区人力资源和社会保障局" and b["request_type"] == "咨询"
    s = client.get("/api/hotline/stats").json()
    assert s["total"] >= 90 and s["departments"]
    assert isinstance(client.get("/api/hotline/overdue").json(), list)
    assert client.get("/hotline", headers={"accept": "text/html"}).status_code == 200

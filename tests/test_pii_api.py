"""/api/pii over a real HTTP server: masking styles, authorised un-masking, permissions and bad input."""

from __future__ import annotations

from pathlib import Path

import httpx

from conftest import make_settings
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import SYSTEM
from server import running_server

TEXT = "来电人赵六，手机13612345678，身份证号11010519491231002X。"


def test_pii_api(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    svc = KnowledgeService(settings, embedder=None)
    keys = {}
    for username, role in [("piiadmin", "admin"), ("piiagent", "agent"), ("piiviewer", "viewer")]:
        user = svc.users.create_user(username, "pass-word-1", [role], actor=SYSTEM)
        keys[role] = {"Authorization": f"Bearer {svc.users.create_api_key(user.username, 'k', actor=SYSTEM)[1]}"}
    try:
        with running_server(settings, svc) as base, httpx.Client(base_url=base, timeout=60) as api:
            r = api.post("/api/pii/mask", json={"text": TEXT}, headers=keys["agent"])
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["text"] == "来电人赵*，手机136****5678，身份证号110***********002X。"
            assert [(s["type"], s["start"], s["end"]) for s in body["spans"]] == [
                ("name", 3, 5), ("mobile", 8, 19), ("id_card", 24, 42)
            ]
            r = api.post("/api/pii/mask", json={"text": TEXT, "style": "tag", "types": ["mobile"]}, headers=keys["agent"])
            assert r.json()["text"] == "来电人赵六，手机[手机号]，身份证号11010519491231002X。"

            # Pseudonyms can be probed with guesses, so minting them is for those who may also un-mask.
            r = api.post("/api/pii/mask", json={"text": TEXT, "style": "pseudonym"}, headers=keys["agent"])
            assert r.status_code == 403
            masked = api.post("/api/pii/mask", json={"text": TEXT, "style": "pseudonym"}, headers=keys["admin"]).json()["text"]
            assert "【手机号#" in masked and "13612345678" not in masked
            # 坐席 may mask but not un-mask; 只读 may do neither. 403 bodies carry no personal data.
            for role, path, payload in [
                ("agent", "/api/pii/unmask", {"text": masked}),
                ("viewer", "/api/pii/unmask", {"text": masked}),
                ("viewer", "/api/pii/mask", {"text": TEXT}),
            ]:
                r = api.post(path, json=payload, headers=keys[role])
                assert r.status_code == 403, (role, path, r.text)
                assert r.json()["code"] == "FORBIDDEN"
                assert "13612345678" not in r.text and "赵六" not in r.text
            r = api.post("/api/pii/mask", json={"text": TEXT})  # visitor without credentials
            assert r.status_code in (401, 403) and "13612345678" not in r.text
            r = api.post("/api/pii/unmask", json={"text": masked}, headers=keys["admin"])
            assert r.status_code == 200 and r.json()["text"] == TEXT and r.json()["restored"] == 3

            # Bad input: clear Chinese errors.
            r = api.post("/api/pii/mask", json={"text": TEXT, "style": "blur"}, headers=keys["agent"])
            assert r.status_code in (400, 422)
            r = api.post("/api/pii/mask", json={"text": TEXT, "types": ["shoe_size"]}, headers=keys["agent"])
            assert r.status_code == 400 and "未知的个人信息类型" in r.json()["message"]
            r = api.post("/api/pii/mask", json={"text": ""}, headers=keys["agent"])
            assert r.status_code == 200 and r.json() == {"text": "", "style": "partial", "spans": [], "took_ms": r.json()["took_ms"]}
    finally:
        svc.close()

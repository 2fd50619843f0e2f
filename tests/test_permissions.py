"""Walk every API route as users who lack permission: the answer is 401/403/404 and no protected data leaks.

The protected data: a restricted knowledge base of one city (甲市) whose document carries a marker string,
a conversation of that city's clerk, and the clerk's account and API key. The intruders: a read-only user of
another city (乙市), an agent of that city, and a visitor who is not logged in. Routes a role may legitimately
call (listing what *they* may see, asking over public bases, their own account) must answer without the marker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from conftest import make_settings
from haoban.api.app import create_app
from haoban.apps.qa.service import QAService
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.safety.auth import SYSTEM
from server import running_server

MARKER = "甲市绝密标记QX7"
PASSWORD = "pass-word-1"

# Routes anyone may call; their answers are checked for the marker instead of the status.
OPEN = {
    ("GET", "/api/health"),
    ("GET", "/api/auth/me"),
    ("GET", "/api/auth/roles"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/kbs"),
    ("GET", "/api/search"),
    ("POST", "/api/search"),
    ("POST", "/api/qa/ask"),
    ("GET", "/api/qa/conversations"),
    ("GET", "/api/embeddings/progress"),
}
# Extra routes open to a logged-in user acting on their own account.
OWN = {("GET", "/api/users/{user}"), ("GET", "/api/users/{user}/keys"), ("POST", "/api/users/{user}/keys")}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[dict]:
    settings = make_settings(tmp_path_factory.mktemp("perm"))
    svc = KnowledgeService(settings, embedder=None)
    u = svc.users
    u.create_department("四川省", actor=SYSTEM)
    u.create_department("甲市", "/四川省", actor=SYSTEM)
    u.create_department("乙市", "/四川省", actor=SYSTEM)
    clerk = u.create_user("clerk_a", PASSWORD, ["staff"], "/四川省/甲市", actor=SYSTEM)
    u.create_user("viewer_b", PASSWORD, ["viewer"], "/四川省/乙市", actor=SYSTEM)
    u.create_user("agent_b", PASSWORD, ["agent"], "/四川省/乙市", actor=SYSTEM)
    svc.create_kb("甲市内部库", MARKER, visibility="restricted", department="/四川省/甲市")
    svc.add_texts("甲市内部库", [TextItem(text=f"第一条 {MARKER}：居住证签注由派出所办理。", source="secret")])
    kb = svc.get_kb("甲市内部库")
    doc_id = svc.list_documents(kb.id)[1][0].id
    clerk_actor = u.login("clerk_a", PASSWORD)[0]
    answer = QAService(svc).ask(f"居住证签注 {MARKER}", actor=clerk_actor, use_model=False)
    key_info, _ = u.create_api_key("clerk_a", "甲市对接", actor=SYSTEM)
    keys = {name: u.create_api_key(name, "测试", actor=SYSTEM)[1] for name in ("viewer_b", "agent_b")}
    svc.close()
    ids = {
        "kb": kb.id, "doc_id": doc_id, "conversation_id": answer.conversation_id, "message_id": answer.message_id,
        "user": clerk.id, "key_id": key_info.id, "principal_type": "user", "principal_id": clerk.id,
    }  # fmt: skip
    app = create_app(settings)
    with running_server(settings, app=app) as base:
        yield {"base": base, "app": app, "ids": ids, "keys": keys}


BODIES = {
    ("POST", "/api/kbs"): {"name": "新库", "department": "/四川省/甲市"},
    ("PATCH", "/api/kbs/{kb}"): {"visibility": "public"},
    ("POST", "/api/kbs/{kb}/texts"): {"text": "第一条 篡改。"},
    ("PATCH", "/api/documents/{doc_id}"): {"validity": "repealed"},
    ("POST", "/api/search"): {"query": "居住证签注"},
    ("POST", "/api/qa/ask"): {"question": "居住证签注怎么办理"},
    ("POST", "/api/messages/{message_id}/feedback"): {"helpful": False, "comment": "x"},
    ("POST", "/api/users"): {"username": "intruder", "password": PASSWORD, "roles": ["admin"]},
    ("PATCH", "/api/users/{user}"): {"roles": ["admin"]},
    ("POST", "/api/departments"): {"name": "新部门", "parent": "/四川省/甲市"},
    ("POST", "/api/users/{user}/keys"): {"name": "偷来的"},
    ("POST", "/api/kbs/{kb}/grants"): {"principal_type": "user", "principal": "viewer_b", "level": "write"},
    ("POST", "/api/auth/login"): {"username": "clerk_a", "password": "wrong-pass-1"},
}


def routes(app) -> list[tuple[str, str]]:
    """Every API operation, from the OpenAPI schema (it lists what the routers actually serve)."""
    paths = app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() if p.startswith("/api") for m in ops if m != "head"]


def fill(path: str, ids: dict) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(ids.get(m[1], "01unknown000000000000000000")), path)


@pytest.mark.parametrize("who", ["viewer_b", "agent_b", "visitor"])
def test_every_route_refuses_or_hides(world: dict, who: str):
    headers = {} if who == "visitor" else {"Authorization": f"Bearer {world['keys'][who]}"}
    checked, refused, leaks, allowed_writes = 0, 0, [], []
    with httpx.Client(base_url=world["base"], headers=headers, timeout=60) as c:
        for method, path in routes(world["app"]):
            url = fill(path, world["ids"])
            body = BODIES.get((method, path))
            resp = c.request(method, url, json=body if body is not None else ({} if method in ("POST", "PATCH", "PUT") else None))
            checked += 1
            if MARKER in resp.text or "clerk_a" in resp.text and (method, path) not in {("POST", "/api/auth/login")}:
                leaks.append(f"{method} {path} → {resp.status_code}")
            if (method, path) in OPEN or (method, path) in OWN:
                continue
            if resp.status_code in (401, 403, 404):
                refused += 1
            elif resp.status_code == 422:
                continue  # the body did not validate, so nothing ran; the marker check above still applies
            elif resp.status_code < 300 and method != "GET":
                allowed_writes.append(f"{method} {path} → {resp.status_code}")
            elif resp.status_code < 300 and not _legitimate_read(who, path):
                allowed_writes.append(f"{method} {path} → {resp.status_code}")
    assert leaks == [], leaks
    assert allowed_writes == [], allowed_writes
    assert checked > 30 and refused > 20, (checked, refused)


def _legitimate_read(who: str, path: str) -> bool:
    """Reads a role has by design (e.g. a viewer may read the service-item catalogue or the ticket queue)."""
    from haoban.safety.auth import ANONYMOUS_ACTIONS, ROLE_ACTIONS

    acts = ANONYMOUS_ACTIONS if who == "visitor" else ROLE_ACTIONS[who.split("_")[0]]
    app = path.split("/")[2]
    return f"{app}.read" in acts


def test_the_owner_still_sees_their_data(world: dict):
    """Control: the same requests as the clerk succeed, so the refusals above are about permission."""
    with httpx.Client(base_url=world["base"], timeout=60) as c:
        c.post("/api/auth/login", json={"username": "clerk_a", "password": PASSWORD}).raise_for_status()
        ids = world["ids"]
        assert MARKER in c.get(f"/api/documents/{ids['doc_id']}").text
        assert MARKER in c.get(f"/api/qa/conversations/{ids['conversation_id']}").text
        assert c.get(f"/api/kbs/{ids['kb']}").status_code == 200

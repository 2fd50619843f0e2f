"""Users, roles, departments, API keys, sessions and the one permission check every path goes through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from conftest import CORPUS, make_settings
from haoban.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from haoban.knowledge.service import KnowledgeService, TextItem
from haoban.safety.auth import (
    ANONYMOUS,
    SYSTEM,
    Actor,
    Resource,
    allowed,
    authorize,
    hash_password,
    verify_password,
)
from haoban.safety.models import ApiKey
from server import running_server

PASSWORD = "pass-word-1"


def actor(roles: set[str], path: str | None = None, kind: str = "user", scopes=None) -> Actor:
    return Actor(id="u", name="u", kind=kind, roles=frozenset(roles), department_path=path, scopes=scopes)


# ---- the policy ----------------------------------------------------------------------------------------


def test_roles_grant_their_actions_and_nothing_else():
    assert allowed(actor({"viewer"}), "qa.ask") and not allowed(actor({"viewer"}), "kb.write")
    assert allowed(actor({"agent"}), "hotline.intake") and not allowed(actor({"agent"}), "user.admin")
    assert allowed(actor({"admin"}), "audit.read") and allowed(SYSTEM, "user.admin")
    assert not allowed(ANONYMOUS, "hotline.read") and allowed(ANONYMOUS, "qa.ask")
    with pytest.raises(ValueError):
        allowed(SYSTEM, "kb.destroy")


def test_api_key_scopes_narrow_the_roles():
    key = actor({"admin"}, kind="api_key", scopes=frozenset({"kb.read", "qa.*"}))
    assert allowed(key, "qa.ask") and allowed(key, "kb.read")
    assert not allowed(key, "kb.write") and not allowed(key, "user.admin")
    # A scope cannot add what the roles lack.
    assert not allowed(actor({"viewer"}, kind="api_key", scopes=frozenset({"*"})), "kb.write")


def test_knowledge_base_visibility_and_department_tree():
    kb = lambda vis, path="/川/甲市": Resource("kb", "k", department_path=path, visibility=vis)  # noqa: E731
    city_a, city_b, district = actor({"viewer"}, "/川/甲市"), actor({"viewer"}, "/川/乙市"), actor({"staff"}, "/川/甲市/东区")
    province_admin, city_admin = actor({"admin"}, "/川"), actor({"admin"}, "/川/乙市")
    assert allowed(ANONYMOUS, "kb.read", kb("public")) and not allowed(ANONYMOUS, "kb.read", kb("internal"))
    assert allowed(city_a, "kb.read", kb("internal")) and not allowed(city_b, "kb.read", kb("internal"))
    assert allowed(district, "kb.read", kb("restricted")) and not allowed(city_b, "kb.read", kb("restricted"))
    city_staff = actor({"staff"}, "/川/甲市")
    assert allowed(city_staff, "kb.write", kb("restricted")) and not allowed(city_a, "kb.write", kb("restricted"))
    assert not allowed(district, "kb.write", kb("restricted"))  # below the base's department: read, not write
    assert allowed(province_admin, "kb.admin", kb("restricted")) and not allowed(city_admin, "kb.admin", kb("restricted"))
    granted = Resource("kb", "k", department_path="/川/甲市", visibility="restricted", grants=(("department", "/川/乙市", "read"),))
    assert allowed(city_b, "kb.read", granted) and not allowed(city_b, "kb.write", granted)
    by_role = Resource("kb", "k", department_path="/川/甲市", visibility="restricted", grants=(("role", "viewer", "read"),))
    assert allowed(city_b, "qa.ask", by_role)
    # "/川/甲市2" is not inside "/川/甲市".
    assert not allowed(actor({"viewer"}, "/川/甲市2"), "kb.read", kb("restricted"))


def test_forbidden_messages_are_chinese_and_name_the_action():
    with pytest.raises(Forbidden) as e:
        authorize(actor({"viewer"}), "kb.write")
    assert e.value.message == "没有权限维护知识库文档"
    with pytest.raises(Forbidden) as e:
        authorize(ANONYMOUS, "hotline.read")
    assert e.value.code == "LOGIN_REQUIRED" and "登录" in e.value.message


def test_password_hashes_are_salted_and_verify():
    a, b = hash_password("秘密-pass-1"), hash_password("秘密-pass-1")
    assert a != b and a.startswith("scrypt$")
    assert verify_password("秘密-pass-1", a) and not verify_password("秘密-pass-2", a)
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$2$3$aa$bb")


# ---- users and departments ----------------------------------------------------------------------------


@pytest.fixture
def org(service: KnowledgeService):
    u = service.users
    province = u.create_department("四川省", actor=SYSTEM)
    city_a = u.create_department("甲市", province.id, actor=SYSTEM)
    city_b = u.create_department("乙市", "/四川省", actor=SYSTEM)
    u.create_user("root", PASSWORD, ["admin"], actor=SYSTEM)
    u.create_user("admin_b", PASSWORD, ["admin"], city_b.id, actor=SYSTEM)
    u.create_user("clerk_a", PASSWORD, ["staff"], city_a.id, "张三", actor=SYSTEM)
    u.create_user("viewer_b", PASSWORD, ["viewer"], city_b.id, actor=SYSTEM)
    return service


def login(svc: KnowledgeService, name: str) -> Actor:
    return svc.users.login(name, PASSWORD)[0]


def test_user_validation(org: KnowledgeService):
    u = org.users
    with pytest.raises(Conflict):
        u.create_user("root", PASSWORD, ["admin"], actor=SYSTEM)
    with pytest.raises(InvalidInput):
        u.create_user("bad name!", PASSWORD, ["admin"], actor=SYSTEM)
    with pytest.raises(InvalidInput) as e:
        u.create_user("weak", "12345678", ["viewer"], actor=SYSTEM)
    assert e.value.code == "WEAK_PASSWORD"
    with pytest.raises(InvalidInput):
        u.create_user("norole", PASSWORD, ["superuser"], actor=SYSTEM)
    with pytest.raises(NotFound):
        u.create_user("nodept", PASSWORD, ["viewer"], "/不存在", actor=SYSTEM)
    with pytest.raises(Conflict):
        u.create_department("甲市", "/四川省", actor=SYSTEM)
    with pytest.raises(InvalidInput):
        u.create_department("a/b", actor=SYSTEM)


def test_department_admin_is_confined_to_their_subtree(org: KnowledgeService):
    u = org.users
    admin_b = login(org, "admin_b")
    assert {x.username for x in u.list_users(actor=admin_b)} == {"admin_b", "viewer_b"}
    u.create_user("new_b", PASSWORD, ["viewer"], "/四川省/乙市", actor=admin_b)
    u.create_department("东区", "/四川省/乙市", actor=admin_b)
    with pytest.raises(Forbidden):
        u.create_user("new_a", PASSWORD, ["viewer"], "/四川省/甲市", actor=admin_b)
    with pytest.raises(Forbidden):
        u.create_user("new_root", PASSWORD, ["admin"], None, actor=admin_b)
    with pytest.raises(Forbidden):  # moving one of their users out of their subtree
        u.update_user("viewer_b", department="/四川省/甲市", actor=admin_b)
    with pytest.raises(Forbidden):
        u.update_user("clerk_a", roles=["admin"], actor=admin_b)


def test_an_admin_cannot_lock_themselves_out(org: KnowledgeService):
    root = login(org, "root")
    for change in ({"active": False}, {"roles": ["viewer"]}):
        with pytest.raises(InvalidInput) as e:
            org.users.update_user("root", actor=root, **change)
        assert e.value.code == "SELF_LOCKOUT"
    org.users.update_user("admin_b", active=False, actor=root)  # another admin: fine


def test_users_cannot_raise_their_own_roles_but_may_change_their_password(org: KnowledgeService):
    clerk = login(org, "clerk_a")
    with pytest.raises(Forbidden):
        org.users.update_user("clerk_a", roles=["admin"], actor=clerk)
    with pytest.raises(Forbidden):
        org.users.update_user("clerk_a", department="/四川省", actor=clerk)
    with pytest.raises(Unauthorized):
        org.users.update_user("clerk_a", password="another-pass-2", actor=clerk)  # without the current password
    org.users.update_user("clerk_a", password="another-pass-2", current_password=PASSWORD, actor=clerk)
    with pytest.raises(Unauthorized):
        org.users.login("clerk_a", PASSWORD)
    assert org.users.login("clerk_a", "another-pass-2")[0].name == "张三"


def test_sessions_are_signed_expire_and_die_with_a_password_change(org: KnowledgeService):
    u = org.users
    actor_, cookie = u.login("clerk_a", PASSWORD)
    found = u.actor_from_session(cookie)
    assert found is not None and found[0].department_path == "/四川省/甲市" and found[1]
    assert u.actor_from_session(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) is None
    assert u.actor_from_session("not-a-cookie") is None
    u.update_user("clerk_a", active=False, actor=SYSTEM)
    assert u.actor_from_session(cookie) is None
    with pytest.raises(Unauthorized):
        u.login("clerk_a", PASSWORD)


def test_a_narrow_api_key_cannot_take_over_its_account(org: KnowledgeService):
    _, key = org.users.create_api_key("root", "门户", ["guide.read"], actor=SYSTEM)
    as_key = org.users.actor_from_api_key(key)
    with pytest.raises(Forbidden):
        org.users.update_user("root", password="taken-over-1", current_password=PASSWORD, actor=as_key)
    assert org.users.login("root", PASSWORD)


def test_staff_write_only_their_own_department_bases_and_platform_lists_need_root(org: KnowledgeService):
    u = org.users
    u.create_department("东区", "/四川省/甲市", actor=SYSTEM)
    u.create_user("clerk_east", PASSWORD, ["staff"], "/四川省/甲市/东区", actor=SYSTEM)
    org.create_kb("甲市库", department="/四川省/甲市")
    east, clerk, admin_b = login(org, "clerk_east"), login(org, "clerk_a"), login(org, "admin_b")
    item = [TextItem(text="第一条 测试。", source="t")]
    assert org.add_texts("甲市库", item, actor=clerk).added == 1
    with pytest.raises(Forbidden):
        org.add_texts("甲市库", item, actor=east)  # a district clerk may read the city's base, not edit it
    assert org.get_kb("甲市库", actor=east)
    with pytest.raises(Forbidden):
        org.lexicon.add_term("某词", "暴恐", kind="allow", actor=admin_b)  # one city must not unblock the province
    org.lexicon.add_term("某词", "暴恐", kind="allow", actor=login(org, "root"))


def test_conversations_stay_with_their_owner(org: KnowledgeService):
    from haoban.apps.qa.service import QAService

    org.create_kb("公开库", visibility="public")
    org.add_texts("公开库", [TextItem(text="第一条 居住证每年签注一次。", source="p")])
    qa = QAService(org)
    clerk, viewer_b, admin_b, root = (login(org, n) for n in ("clerk_a", "viewer_b", "admin_b", "root"))
    mine = qa.ask("居住证多久签注", actor=clerk, use_model=False)
    for other in (viewer_b, admin_b):  # another city's administrator is not the clerk's administrator
        with pytest.raises(NotFound):
            qa.conversation(mine.conversation_id, actor=other)
    assert qa.conversation(mine.conversation_id, actor=root).messages
    # A visitor's conversation can be read by its id, but a signed-in user may not continue it.
    visitor = qa.ask("居住证多久签注", use_model=False, actor=ANONYMOUS)
    with pytest.raises(Forbidden):
        qa.ask("那要带什么材料", conversation_id=visitor.conversation_id, actor=clerk, use_model=False)


def test_repeated_failures_lock_the_login(org: KnowledgeService):
    for _ in range(5):
        with pytest.raises(Unauthorized):
            org.users.login("viewer_b", "wrong-pass-0", client="10.0.0.9")
    with pytest.raises(RateLimited):
        org.users.login("viewer_b", PASSWORD, client="10.0.0.9")
    assert org.users.login("viewer_b", PASSWORD, client="10.0.0.10")  # another client is not locked out


def test_api_keys_are_hashed_scoped_expiring_and_revocable(org: KnowledgeService):
    u = org.users
    info, key = u.create_api_key("clerk_a", "门户网站", ["kb.read", "qa.*"], actor=SYSTEM)
    with org.db.session() as s:
        row = s.get(ApiKey, info.id)
        assert key not in (row.key_hash, row.prefix + "x") and len(row.key_hash) == 64
    a = u.actor_from_api_key(key)
    assert a.kind == "api_key" and allowed(a, "qa.ask") and not allowed(a, "kb.write")
    assert u.actor_from_api_key(key + "x") is None
    with pytest.raises(InvalidInput):
        u.create_api_key("clerk_a", "x", ["kb.destroy"], actor=SYSTEM)
    u.revoke_api_key(info.id, actor=SYSTEM)
    assert u.actor_from_api_key(key) is None
    info2, key2 = u.create_api_key("clerk_a", "临时", None, 1, actor=SYSTEM)
    with org.db.session() as s:
        s.execute(update(ApiKey).where(ApiKey.id == info2.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert u.actor_from_api_key(key2) is None
    # Another department's admin cannot mint keys for this user.
    with pytest.raises(Forbidden):
        u.create_api_key("clerk_a", "x", actor=login(org, "admin_b"))


def test_knowledge_bases_obey_visibility_and_grants_in_the_service(org: KnowledgeService):
    clerk, viewer_b = login(org, "clerk_a"), login(org, "viewer_b")
    org.create_kb("甲市内部库", visibility="restricted", actor=SYSTEM, department="/四川省/甲市")
    org.add_texts("甲市内部库", [TextItem(text="第一条 甲市内部规定：居住证签注由派出所办理。", source="a")], actor=clerk)
    assert [k.name for k in org.list_kbs(actor=viewer_b)] == []
    with pytest.raises(NotFound):
        org.get_kb("甲市内部库", actor=viewer_b)
    assert org.search("居住证签注", actor=viewer_b).hits == []
    assert org.search("居住证签注", actor=clerk).hits
    with pytest.raises(NotFound):
        org.search("居住证签注", ["甲市内部库"], actor=viewer_b)
    kb_id = org.kb_id("甲市内部库")
    org.users.grant(kb_id, "department", "/四川省/乙市", "read", actor=SYSTEM)
    assert org.search("居住证签注", actor=viewer_b).hits
    with pytest.raises(Forbidden):
        org.add_texts("甲市内部库", [TextItem(text="第一条 改动", source="b")], actor=viewer_b)
    with pytest.raises(Forbidden):
        org.users.grant(kb_id, "user", "viewer_b", "write", actor=clerk)  # staff cannot grant
    with pytest.raises(Forbidden):
        org.delete_kb("甲市内部库", actor=clerk)


# ---- over HTTP: login, cookies, CSRF, keys --------------------------------------------------------------


@pytest.fixture
def http(tmp_path):
    settings = make_settings(tmp_path)
    svc = KnowledgeService(settings, embedder=None)
    svc.users.create_user("clerk", PASSWORD, ["staff"], actor=SYSTEM)
    svc.create_kb("公开库", visibility="public")
    svc.ingest_paths("公开库", [CORPUS])
    svc.create_kb("内部库")
    svc.close()
    with running_server(settings) as base:
        yield base


def test_visitors_see_public_bases_only_and_cannot_write(http: str):
    with httpx.Client(base_url=http) as c:
        assert [k["name"] for k in c.get("/api/kbs").json()] == ["公开库"]
        assert c.get("/api/search", params={"q": "居住证签注"}).json()["hits"]
        r = c.post("/api/kbs", json={"name": "访客库"})
        assert r.status_code == 403 and r.json()["code"] == "LOGIN_REQUIRED"
        assert c.get("/api/kbs/内部库").status_code == 404
        assert c.get("/admin/users", follow_redirects=False).status_code == 303


def test_login_cookie_csrf_and_logout(http: str):
    with httpx.Client(base_url=http) as c:
        bad = c.post("/api/auth/login", json={"username": "clerk", "password": "wrong-pass-1"})
        assert bad.status_code == 401 and bad.json()["message"] == "用户名或密码不正确，或账号已停用"
        r = c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        me = r.json()
        assert me["roles"] == ["staff"] and "kb.write" in me["actions"] and me["csrf_token"]
        assert {k["name"] for k in c.get("/api/kbs").json()} == {"公开库", "内部库"}
        # A write with the cookie but without the token is refused; with the token it goes through.
        no_token = c.post("/api/kbs/内部库/texts", json={"text": "第一条 测试。"})
        assert no_token.status_code == 403 and no_token.json()["code"] == "CSRF_FAILED"
        ok = c.post("/api/kbs/内部库/texts", json={"text": "第一条 测试。"}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert ok.status_code == 200, ok.text
        # The console page carries the token for its scripts.
        assert me["csrf_token"] in c.get("/").text
        c.post("/api/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})
        assert c.get("/api/auth/me").json()["kind"] == "anonymous"


def test_cross_site_login_is_refused(http: str):
    r = httpx.post(f"{http}/api/auth/login", json={"username": "clerk", "password": PASSWORD}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403


def test_api_keys_over_http(http: str, tmp_path):
    with httpx.Client(base_url=http) as c:
        me = c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}).json()
        made = c.post("/api/users/clerk/keys", json={"name": "对接系统", "scopes": ["kb.read"]}, headers={"X-CSRF-Token": me["csrf_token"]})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
    h = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{http}/api/kbs/内部库", headers=h).status_code == 200
    denied = httpx.post(f"{http}/api/kbs/内部库/texts", json={"text": "第一条"}, headers=h)
    assert denied.status_code == 403
    # A key may not mint more keys.
    assert httpx.post(f"{http}/api/users/clerk/keys", json={"name": "x"}, headers=h).status_code == 403
    bad = httpx.get(f"{http}/api/kbs", headers={"X-API-Key": "hb_forged"})
    assert bad.status_code == 401 and bad.json()["code"] == "API_KEY_INVALID"


def test_privilege_escalation_through_parameters_is_refused(http: str):
    with httpx.Client(base_url=http) as c:
        me = c.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}).json()
        h = {"X-CSRF-Token": me["csrf_token"]}
        # Extra fields and query parameters do not change who is asking.
        r = c.patch(f"/api/users/{me['id']}?roles=admin", json={"roles": ["admin"]}, headers=h)
        assert r.status_code == 403
        r = c.post("/api/kbs?actor=system", json={"name": "越权库", "visibility": "public"}, headers=h)
        assert r.status_code == 403
        assert c.get("/api/audit", params={"actor_id": "system"}).status_code == 403
        assert c.get("/api/users").status_code == 403

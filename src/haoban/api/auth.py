"""Login, users, departments, API keys, knowledge-base grants and the audit log over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from haoban.api.deps import SESSION_COOKIE, CurrentActor, Service, resolve_actor
from haoban.errors import Forbidden, InvalidInput
from haoban.safety.audit import AuditEntry, VerifyReport
from haoban.safety.auth import ACTIONS, ROLES, Actor, actions_of, authorize
from haoban.safety.users import ApiKeyInfo, DepartmentInfo, GrantInfo, UserInfo

router = APIRouter(prefix="/api")


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)


class Me(BaseModel):
    id: str
    name: str
    kind: str
    roles: list[str]
    department_id: str | None
    department_path: str | None
    actions: list[str] = Field(description="当前身份可执行的操作")
    csrf_token: str | None = Field(None, description="控制台会话的 CSRF 令牌：修改类请求放在 X-CSRF-Token 头里")


class UserCreate(BaseModel):
    username: str
    password: str
    roles: list[str]
    department: str | None = None
    display_name: str = ""


class UserUpdate(BaseModel):
    roles: list[str] | None = None
    department: str | None = None
    display_name: str | None = None
    active: bool | None = None
    password: str | None = None
    current_password: str | None = Field(None, description="修改自己的密码时须提供当前密码")


class DepartmentCreate(BaseModel):
    name: str
    parent: str | None = Field(None, description="上级部门 ID 或路径")


class KeyCreate(BaseModel):
    name: str
    scopes: list[str] | None = Field(None, description='权限范围，如 ["kb.read", "qa.*"]；为空表示该用户的全部权限')
    expires_days: float | None = None


class KeyCreated(BaseModel):
    key: str = Field(description="API Key 明文，只显示这一次")
    info: ApiKeyInfo


class GrantIn(BaseModel):
    principal_type: Literal["user", "department", "role"]
    principal: str = Field(description="用户名/ID、部门 ID/路径或角色名")
    level: Literal["read", "write"] = "read"


class AuditPage(BaseModel):
    total: int
    items: list[AuditEntry]


def _me(actor: Actor, csrf: str | None) -> Me:
    return Me(
        id=actor.id, name=actor.name, kind=actor.kind, roles=sorted(actor.roles), department_id=actor.department_id,
        department_path=actor.department_path, actions=sorted(actions_of(actor)), csrf_token=csrf,
    )  # fmt: skip


def _same_origin(request: Request) -> bool:
    """Login has no session yet, so it cannot carry a CSRF token: refuse cross-site form posts by Origin."""
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")


# ---- session --------------------------------------------------------------------------------------


@router.post("/auth/login", response_model=Me, tags=["登录与权限"])
def login(body: LoginIn, request: Request, response: Response, svc: Service) -> Me:
    if not _same_origin(request):
        raise Forbidden("登录请求来源不正确", code="CSRF_FAILED")
    client = request.client.host if request.client else "?"
    try:
        actor, cookie = svc.users.login(body.username, body.password, client=client)
    except Exception:
        svc.audit.record(Actor(id=f"login:{body.username[:40]}", name=body.username[:40], kind="anonymous"),
                         "auth.login", "user", body.username[:64], result="denied", detail={"client": client})  # fmt: skip
        raise
    svc.audit.record(actor, "auth.login", "user", actor.id, detail={"client": client})
    response.set_cookie(
        SESSION_COOKIE, cookie, max_age=svc.users.session_seconds, httponly=True, samesite="lax",
        secure=svc.settings.cookie_secure, path="/",
    )  # fmt: skip
    found = svc.users.actor_from_session(cookie)
    return _me(actor, found[1] if found else None)


@router.post("/auth/logout", status_code=204, tags=["登录与权限"])
def logout(response: Response, actor: CurrentActor, svc: Service) -> None:
    if actor.authenticated:
        svc.audit.record(actor, "auth.logout", "user", actor.id)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=Me, tags=["登录与权限"])
def me(request: Request, actor: CurrentActor) -> Me:
    return _me(actor, resolve_actor(request)[1])


@router.get("/auth/roles", tags=["登录与权限"])
def roles() -> dict:
    return {"roles": ROLES, "actions": ACTIONS}


# ---- users, departments, keys -----------------------------------------------------------------------


@router.get("/users", response_model=list[UserInfo], tags=["登录与权限"])
def list_users(svc: Service, actor: CurrentActor) -> list[UserInfo]:
    return svc.users.list_users(actor=actor)


@router.post("/users", response_model=UserInfo, status_code=201, tags=["登录与权限"])
def create_user(body: UserCreate, svc: Service, actor: CurrentActor) -> UserInfo:
    info = svc.users.create_user(body.username, body.password, body.roles, body.department, body.display_name, actor=actor)
    svc.audit.record(actor, "user.create", "user", info.id, input={"username": info.username, "roles": info.roles})
    return info


@router.get("/users/{user}", response_model=UserInfo, tags=["登录与权限"])
def get_user(user: str, svc: Service, actor: CurrentActor) -> UserInfo:
    return svc.users.get_user(user, actor=actor)


@router.patch("/users/{user}", response_model=UserInfo, tags=["登录与权限"])
def update_user(user: str, body: UserUpdate, svc: Service, actor: CurrentActor) -> UserInfo:
    info = svc.users.update_user(user, actor=actor, **body.model_dump(exclude_none=True))
    svc.audit.record(actor, "user.update", "user", info.id, detail={k: v for k, v in body.model_dump(exclude_none=True).items() if k != "password"})
    return info


@router.get("/departments", response_model=list[DepartmentInfo], tags=["登录与权限"])
def list_departments(svc: Service, actor: CurrentActor) -> list[DepartmentInfo]:
    authorize(actor, "user.admin")
    return svc.users.list_departments(actor=actor)


@router.post("/departments", response_model=DepartmentInfo, status_code=201, tags=["登录与权限"])
def create_department(body: DepartmentCreate, svc: Service, actor: CurrentActor) -> DepartmentInfo:
    info = svc.users.create_department(body.name, body.parent, actor=actor)
    svc.audit.record(actor, "department.create", "department", info.id, input=info.path)
    return info


@router.get("/users/{user}/keys", response_model=list[ApiKeyInfo], tags=["登录与权限"])
def list_keys(user: str, svc: Service, actor: CurrentActor) -> list[ApiKeyInfo]:
    return svc.users.list_api_keys(user, actor=actor)


@router.post("/users/{user}/keys", response_model=KeyCreated, status_code=201, tags=["登录与权限"])
def create_key(user: str, body: KeyCreate, svc: Service, actor: CurrentActor) -> KeyCreated:
    if actor.kind == "api_key":
        raise Forbidden("不能用 API Key 再创建 API Key，请在控制台登录后创建", code="KEY_FROM_KEY")
    info, key = svc.users.create_api_key(user, body.name, body.scopes, body.expires_days, actor=actor)
    svc.audit.record(actor, "apikey.create", "api_key", info.id, detail={"user": info.user_id, "scopes": info.scopes})
    return KeyCreated(key=key, info=info)


@router.delete("/keys/{key_id}", response_model=ApiKeyInfo, tags=["登录与权限"])
def revoke_key(key_id: str, svc: Service, actor: CurrentActor) -> ApiKeyInfo:
    info = svc.users.revoke_api_key(key_id, actor=actor)
    svc.audit.record(actor, "apikey.revoke", "api_key", key_id)
    return info


@router.get("/kbs/{kb}/grants", response_model=list[GrantInfo], tags=["登录与权限"])
def list_grants(kb: str, svc: Service, actor: CurrentActor) -> list[GrantInfo]:
    return svc.users.list_grants(svc.kb_id(kb, actor=actor), actor=actor)


@router.post("/kbs/{kb}/grants", response_model=GrantInfo, status_code=201, tags=["登录与权限"])
def add_grant(kb: str, body: GrantIn, svc: Service, actor: CurrentActor) -> GrantInfo:
    info = svc.users.grant(svc.kb_id(kb, actor=actor), body.principal_type, body.principal, body.level, actor=actor)
    svc.audit.record(actor, "kb.grant", "kb", info.kb_id, input=body.model_dump())
    return info


@router.delete("/kbs/{kb}/grants/{principal_type}/{principal_id:path}", status_code=204, tags=["登录与权限"])
def remove_grant(kb: str, principal_type: str, principal_id: str, svc: Service, actor: CurrentActor) -> None:
    kb_id = svc.kb_id(kb, actor=actor)
    svc.users.revoke_grant(kb_id, principal_type, principal_id, actor=actor)
    svc.audit.record(actor, "kb.revoke", "kb", kb_id, input={"principal_type": principal_type, "principal_id": principal_id})


# ---- audit ------------------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage, tags=["审计"])
def list_audit(
    svc: Service,
    actor: CurrentActor,
    action: str | None = None,
    actor_id: str | None = None,
    resource_type: str | None = None,
    result: Literal["ok", "denied", "error"] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    authorize(actor, "audit.read")
    total, items = svc.audit.list(
        action=action, actor_id=actor_id, resource_type=resource_type, result=result, since=since, until=until,
        department_ids=svc.users.subtree_ids(actor.department_path), offset=offset, limit=limit,
    )  # fmt: skip
    return AuditPage(total=total, items=items)


@router.get("/audit/verify", response_model=VerifyReport, tags=["审计"])
def verify_audit(svc: Service, actor: CurrentActor) -> VerifyReport:
    authorize(actor, "audit.read")
    report = svc.audit.verify()
    svc.audit.record(actor, "audit.verify", "audit", detail={"ok": report.ok, "first_broken_seq": report.first_broken_seq})
    return report


@router.get("/audit/export", tags=["审计"])
def export_audit(svc: Service, actor: CurrentActor, format: Literal["jsonl", "csv"] = "jsonl") -> StreamingResponse:  # noqa: A002
    authorize(actor, "audit.read")
    if actor.department_path is not None:
        raise InvalidInput("导出完整审计链须由全平台管理员执行", code="AUDIT_EXPORT_SCOPE")
    svc.audit.record(actor, "audit.export", "audit", detail={"format": format})
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    headers = {"content-disposition": f'attachment; filename="haoban-audit.{format}"'}
    return StreamingResponse(svc.audit.export_lines(format), media_type=media + "; charset=utf-8", headers=headers)

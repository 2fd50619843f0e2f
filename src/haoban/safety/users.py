"""Departments, users, API keys, knowledge-base grants, and turning credentials into an `Actor`."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haoban.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from haoban.knowledge.schemas import UTCDateTime
from haoban.safety.auth import (
    ACTIONS,
    ROLES,
    Actor,
    Resource,
    api_key_hash,
    authorize,
    hash_password,
    new_api_key,
    verify_password,
    within,
)
from haoban.safety.models import ApiKey, Department, KbGrant, User
from haoban.store.db import Database
from haoban.store.models import KnowledgeBase

USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8
_LAST_USED_EVERY = timedelta(minutes=1)
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
MAX_FAILURES, FAILURE_WINDOW = 5, 15 * 60  # then the account (from that client) waits out the window


class DepartmentInfo(BaseModel):
    id: str
    name: str
    parent_id: str | None
    path: str


class UserInfo(BaseModel):
    id: str
    username: str
    display_name: str
    roles: list[str]
    department_id: str | None
    department_path: str | None
    active: bool
    created_at: UTCDateTime
    last_login_at: UTCDateTime | None


class ApiKeyInfo(BaseModel):
    id: str
    user_id: str
    name: str
    prefix: str
    scopes: list[str]
    expires_at: UTCDateTime | None
    revoked_at: UTCDateTime | None
    created_at: UTCDateTime
    last_used_at: UTCDateTime | None


class GrantInfo(BaseModel):
    kb_id: str
    principal_type: str
    principal_id: str
    level: str


def _aware(d: datetime | None) -> datetime | None:
    return d.replace(tzinfo=UTC) if d is not None and d.tzinfo is None else d


class UserService:
    def __init__(self, db: Database, session_key: bytes, session_hours: float = 12.0):
        self.db = db
        self._cookies = URLSafeTimedSerializer(session_key, salt="haoban-session")
        self.session_seconds = int(session_hours * 3600)
        # Per process: enough to stop password guessing through one server; a cluster multiplies the budget.
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._failures_lock = threading.Lock()

    # ---- departments -------------------------------------------------------------------------------

    def _dept(self, s: Session, ref: str) -> Department:
        """A department by ID or path ("/四川省/广安市")."""
        d = s.get(Department, ref) or s.scalar(select(Department).where(Department.path == ref))
        if d is None:
            raise NotFound(f"部门不存在：{ref}", code="DEPARTMENT_NOT_FOUND")
        return d

    def department_path(self, dept_id: str | None) -> str | None:
        if dept_id is None:
            return None
        with self.db.session() as s:
            d = s.get(Department, dept_id)
            return d.path if d else None

    def create_department(self, name: str, parent: str | None = None, *, actor: Actor) -> DepartmentInfo:
        name = name.strip()
        if not name or "/" in name or len(name) > 100:
            raise InvalidInput("部门名称不能为空、不能含“/”，且不超过 100 字")
        with self.db.session() as s:
            parent_row = self._dept(s, parent) if parent else None
            path = f"{parent_row.path if parent_row else ''}/{name}"
            authorize(actor, "user.admin", Resource("department", department_path=parent_row.path if parent_row else None))
            if s.scalar(select(Department).where(Department.path == path)):
                raise Conflict(f"部门已存在：{path}", code="DEPARTMENT_EXISTS")
            d = Department(name=name, parent_id=parent_row.id if parent_row else None, path=path)
            s.add(d)
            s.flush()
            return DepartmentInfo.model_validate(d, from_attributes=True)

    def list_departments(self, *, actor: Actor) -> list[DepartmentInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(Department).order_by(Department.path))
            return [
                DepartmentInfo.model_validate(d, from_attributes=True)
                for d in rows
                if within(d.path, actor.department_path) or within(actor.department_path, d.path)
            ]

    def subtree_ids(self, path: str | None) -> list[str] | None:
        """IDs of the departments under `path` (None: no restriction)."""
        if path is None:
            return None
        with self.db.session() as s:
            return [d.id for d in s.scalars(select(Department)) if within(d.path, path)]

    # ---- users -------------------------------------------------------------------------------------

    def _info(self, s: Session, u: User) -> UserInfo:
        path = s.get(Department, u.department_id).path if u.department_id else None
        return UserInfo(
            id=u.id, username=u.username, display_name=u.display_name, roles=list(u.roles), department_id=u.department_id,
            department_path=path, active=u.active, created_at=u.created_at, last_login_at=u.last_login_at,
        )  # fmt: skip

    def _user(self, s: Session, ref: str) -> User:
        u = s.get(User, ref) or s.scalar(select(User).where(User.username == ref))
        if u is None:
            raise NotFound(f"用户不存在：{ref}", code="USER_NOT_FOUND")
        return u

    def _check_roles(self, roles: list[str]) -> list[str]:
        bad = [r for r in roles if r not in ROLES]
        if bad or not roles:
            raise InvalidInput(f"角色不正确：{'、'.join(bad) or '至少需要一个角色'}；可选 {'、'.join(f'{k}（{v}）' for k, v in ROLES.items())}")
        return sorted(set(roles))

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD or password.isdigit() or password.isalpha():
            raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位，且须同时包含字母和数字或符号", code="WEAK_PASSWORD")

    def create_user(
        self,
        username: str,
        password: str,
        roles: list[str],
        department: str | None = None,
        display_name: str = "",
        *,
        actor: Actor,
    ) -> UserInfo:
        if not USERNAME.match(username):
            raise InvalidInput("用户名只能用字母、数字、下划线、点和连字符，2–64 位")
        roles = self._check_roles(roles)
        self._check_password(password)
        with self.db.session() as s:
            dept = self._dept(s, department) if department else None
            authorize(actor, "user.admin", Resource("user", department_path=dept.path if dept else None))
            if s.scalar(select(User).where(User.username == username)):
                raise Conflict(f"用户名已存在：{username}", code="USER_EXISTS")
            u = User(username=username, password_hash=hash_password(password), roles=roles,
                     department_id=dept.id if dept else None, display_name=display_name.strip()[:100])  # fmt: skip
            s.add(u)
            s.flush()
            return self._info(s, u)

    def list_users(self, *, actor: Actor) -> list[UserInfo]:
        authorize(actor, "user.admin")
        with self.db.session() as s:
            infos = [self._info(s, u) for u in s.scalars(select(User).order_by(User.username))]
        return [i for i in infos if within(i.department_path, actor.department_path)]

    def get_user(self, ref: str, *, actor: Actor) -> UserInfo:
        with self.db.session() as s:
            u = self._user(s, ref)
            info = self._info(s, u)
        if actor.user_id != info.id:
            authorize(actor, "user.admin", Resource("user", info.id, department_path=info.department_path))
        return info

    def update_user(
        self,
        ref: str,
        *,
        actor: Actor,
        roles: list[str] | None = None,
        department: str | None = None,
        display_name: str | None = None,
        active: bool | None = None,
        password: str | None = None,
        current_password: str | None = None,
    ) -> UserInfo:
        with self.db.session() as s:
            u = self._user(s, ref)
            current = self._info(s, u)
            self_service = actor.user_id == u.id and roles is None and department is None and active is None
            if self_service and actor.kind == "api_key":
                # A key's scopes must not be escapable by resetting its owner's password.
                raise Forbidden("不能用 API Key 修改账号，请登录控制台操作", code="KEY_SELF_SERVICE")
            if self_service and password is not None and not verify_password(current_password or "", u.password_hash):
                raise Unauthorized("当前密码不正确", code="CURRENT_PASSWORD_WRONG")
            if not self_service:
                # Both where the user is now and where they are moved must be inside the admin's subtree.
                authorize(actor, "user.admin", Resource("user", u.id, department_path=current.department_path))
            if actor.user_id == u.id and (active is False or (roles is not None and "admin" in u.roles and "admin" not in roles)):
                raise InvalidInput("不能停用自己的账号或取消自己的管理员角色，请由其他管理员操作", code="SELF_LOCKOUT")
            if roles is not None:
                u.roles = self._check_roles(roles)
            if department is not None:
                dept = self._dept(s, department) if department else None
                authorize(actor, "user.admin", Resource("user", u.id, department_path=dept.path if dept else None))
                u.department_id = dept.id if dept else None
            if display_name is not None:
                u.display_name = display_name.strip()[:100]
            if active is not None:
                u.active = active
                u.session_version += 1
            if password is not None:
                self._check_password(password)
                u.password_hash = hash_password(password)
                u.session_version += 1
            s.flush()
            return self._info(s, u)

    def count_users(self) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(User)) or 0

    def _actor(self, s: Session, u: User, kind: str = "user", scopes: list[str] | None = None) -> Actor:
        path = s.get(Department, u.department_id).path if u.department_id else None
        return Actor(
            id=u.id, name=u.display_name or u.username, kind=kind, roles=frozenset(u.roles), department_id=u.department_id,
            department_path=path, scopes=frozenset(scopes) if scopes is not None else None,
        )  # fmt: skip

    # ---- credentials → actor -----------------------------------------------------------------------

    def _throttle(self, key: str, failed: bool = False) -> None:
        now = time.monotonic()
        with self._failures_lock:
            q = self._failures[key]
            while q and now - q[0] > FAILURE_WINDOW:
                q.popleft()
            if failed:
                q.append(now)
            elif len(q) >= MAX_FAILURES:
                raise RateLimited(f"登录失败次数过多，请 {FAILURE_WINDOW // 60} 分钟后再试", code="LOGIN_LOCKED")

    def login(self, username: str, password: str, client: str = "") -> tuple[Actor, str]:
        """Check a password; return the actor and a signed session cookie value."""
        key = f"{username}|{client}"
        self._throttle(key)
        with self.db.session() as s:
            u = s.scalar(select(User).where(User.username == username))
            # Verify against a fixed hash for unknown users: the same work, so timing does not reveal usernames.
            ok = verify_password(password, u.password_hash if u else _DUMMY_HASH)
            if u is None or not ok or not u.active:
                self._throttle(key, failed=True)
                raise Unauthorized("用户名或密码不正确，或账号已停用", code="LOGIN_FAILED")
            u.last_login_at = datetime.now(UTC)
            cookie = self._cookies.dumps({"u": u.id, "v": u.session_version, "c": secrets.token_urlsafe(16)})
            return self._actor(s, u), cookie

    def actor_from_session(self, cookie: str) -> tuple[Actor, str] | None:
        """The actor and CSRF token of a session cookie; None when it is forged, expired or revoked."""
        try:
            data = self._cookies.loads(cookie, max_age=self.session_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not {"u", "v", "c"} <= data.keys():
            return None
        with self.db.session() as s:
            u = s.get(User, data["u"])
            if u is None or not u.active or u.session_version != data["v"]:
                return None
            return self._actor(s, u), data["c"]

    def actor_from_api_key(self, key: str) -> Actor | None:
        with self.db.session() as s:
            k = s.scalar(select(ApiKey).where(ApiKey.key_hash == api_key_hash(key)))
            now = datetime.now(UTC)
            if k is None or k.revoked_at is not None or (k.expires_at is not None and _aware(k.expires_at) <= now):
                return None
            u = s.get(User, k.user_id)
            if u is None or not u.active:
                return None
            if k.last_used_at is None or now - _aware(k.last_used_at) > _LAST_USED_EVERY:
                k.last_used_at = now
            return self._actor(s, u, kind="api_key", scopes=list(k.scopes))

    # ---- API keys ----------------------------------------------------------------------------------

    def create_api_key(
        self, user: str, name: str, scopes: list[str] | None = None, expires_days: float | None = None, *, actor: Actor
    ) -> tuple[ApiKeyInfo, str]:
        """Create a key; the plain key is returned once and never stored."""
        scopes = sorted(set(scopes or ["*"]))
        bad = [x for x in scopes if x != "*" and x not in ACTIONS and not (x.endswith(".*") and any(a.startswith(x[:-1]) for a in ACTIONS))]
        if bad:
            raise InvalidInput(f"未知的权限范围：{'、'.join(bad)}", code="BAD_SCOPE")
        if expires_days is not None and expires_days <= 0:
            raise InvalidInput("有效期必须大于 0 天")
        with self.db.session() as s:
            u = self._user(s, user)
            if actor.user_id != u.id:
                authorize(actor, "user.admin", Resource("user", u.id, department_path=self._info(s, u).department_path))
            key = new_api_key()
            expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
            row = ApiKey(user_id=u.id, name=name.strip()[:100] or "未命名", prefix=key[:10], key_hash=api_key_hash(key),
                         scopes=scopes, expires_at=expires)  # fmt: skip
            s.add(row)
            s.flush()
            return ApiKeyInfo.model_validate(row, from_attributes=True), key

    def list_api_keys(self, user: str, *, actor: Actor) -> list[ApiKeyInfo]:
        with self.db.session() as s:
            u = self._user(s, user)
            if actor.user_id != u.id:
                authorize(actor, "user.admin", Resource("user", u.id, department_path=self._info(s, u).department_path))
            rows = s.scalars(select(ApiKey).where(ApiKey.user_id == u.id).order_by(ApiKey.created_at))
            return [ApiKeyInfo.model_validate(r, from_attributes=True) for r in rows]

    def revoke_api_key(self, key_id: str, *, actor: Actor) -> ApiKeyInfo:
        with self.db.session() as s:
            k = s.get(ApiKey, key_id)
            if k is None:
                raise NotFound("API Key 不存在", code="API_KEY_NOT_FOUND")
            u = s.get(User, k.user_id)
            if actor.user_id != u.id:
                authorize(actor, "user.admin", Resource("user", u.id, department_path=self._info(s, u).department_path))
            k.revoked_at = k.revoked_at or datetime.now(UTC)
            s.flush()
            return ApiKeyInfo.model_validate(k, from_attributes=True)

    # ---- knowledge-base grants ---------------------------------------------------------------------

    def _kb_resource(self, s: Session, kb_id: str) -> Resource:
        kb = s.get(KnowledgeBase, kb_id)
        if kb is None:
            raise NotFound("知识库不存在", code="KB_NOT_FOUND")
        path = s.get(Department, kb.department_id).path if kb.department_id else None
        return Resource("kb", kb.id, department_path=path, visibility=kb.visibility)

    def grant(self, kb_id: str, principal_type: str, principal: str, level: str = "read", *, actor: Actor) -> GrantInfo:
        if principal_type not in ("user", "department", "role") or level not in ("read", "write"):
            raise InvalidInput("授权对象须为 user/department/role，级别须为 read/write")
        with self.db.session() as s:
            authorize(actor, "kb.admin", self._kb_resource(s, kb_id))
            if principal_type == "user":
                pid = self._user(s, principal).id
            elif principal_type == "department":
                pid = self._dept(s, principal).path
            else:
                if principal not in ROLES:
                    raise InvalidInput(f"角色不正确：{principal}")
                pid = principal
            row = s.get(KbGrant, (kb_id, principal_type, pid)) or KbGrant(kb_id=kb_id, principal_type=principal_type, principal_id=pid)
            row.level = level
            s.add(row)
            s.flush()
            return GrantInfo.model_validate(row, from_attributes=True)

    def revoke_grant(self, kb_id: str, principal_type: str, principal_id: str, *, actor: Actor) -> None:
        with self.db.session() as s:
            authorize(actor, "kb.admin", self._kb_resource(s, kb_id))
            row = s.get(KbGrant, (kb_id, principal_type, principal_id))
            if row is None:
                raise NotFound("没有这条授权", code="GRANT_NOT_FOUND")
            s.delete(row)

    def list_grants(self, kb_id: str, *, actor: Actor) -> list[GrantInfo]:
        with self.db.session() as s:
            authorize(actor, "kb.admin", self._kb_resource(s, kb_id))
            rows = s.scalars(select(KbGrant).where(KbGrant.kb_id == kb_id))
            return [GrantInfo.model_validate(r, from_attributes=True) for r in rows]

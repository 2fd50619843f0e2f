"""Who may do what: actors, roles, resources and the one `authorize(actor, action, resource)` every path asks.

Routes and CLI commands never decide permissions themselves; services call `authorize` before touching data.
Departments form a 省→市→区 tree written as paths ("/四川省/广安市"); a resource belongs to a department, and
an administrator manages the subtree under their own department.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from haoban.errors import Forbidden

ROLES: dict[str, str] = {"admin": "管理员", "staff": "业务人员", "agent": "坐席", "viewer": "只读"}

# Every action an actor can be allowed, with the Chinese name used in messages and the console.
ACTIONS: dict[str, str] = {
    "kb.read": "查阅知识库",
    "kb.write": "维护知识库文档",
    "kb.admin": "创建、删除知识库并授权",
    "qa.ask": "政策问答",
    "guide.read": "查询办事指南",
    "guide.write": "维护事项目录",
    "hotline.read": "查看工单",
    "hotline.intake": "受理工单",
    "hotline.handle": "办理工单",
    "hotline.admin": "管理热线配置与模型",
    "gongwen.use": "使用公文工具",
    "pii.mask": "个人信息脱敏",
    "pii.unmask": "还原脱敏信息",
    "lexicon.read": "查看敏感词库",
    "lexicon.write": "维护敏感词库",
    "audit.read": "查看审计日志",
    "user.admin": "管理用户、部门和密钥",
    "safety.eval": "运行安全评测",
}

_READ = {"kb.read", "qa.ask", "guide.read"}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset(_READ | {"hotline.read"}),
    "agent": frozenset(_READ | {"hotline.read", "hotline.intake", "hotline.handle", "pii.mask"}),
    "staff": frozenset(
        _READ | {"kb.write", "guide.write", "hotline.read", "hotline.handle", "gongwen.use", "pii.mask", "lexicon.read"}
    ),
    "admin": frozenset(ACTIONS),
}
# What a visitor who has not logged in may do (only on public knowledge bases); see Settings.allow_anonymous.
ANONYMOUS_ACTIONS = frozenset({"kb.read", "qa.ask", "guide.read"})


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    kind: str  # user | api_key | system | anonymous
    roles: frozenset[str] = frozenset()
    department_id: str | None = None
    department_path: str | None = None  # None: not bound to a department (province-wide / root)
    scopes: frozenset[str] | None = None  # an API key's scopes; None means everything the roles allow

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def user_id(self) -> str | None:
        return self.id if self.kind in ("user", "api_key") else None


SYSTEM = Actor(id="system", name="本机操作员", kind="system", roles=frozenset({"admin"}))
ANONYMOUS = Actor(id="anonymous", name="访客", kind="anonymous")


@dataclass(frozen=True)
class Resource:
    kind: str  # kb | conversation | user | department | ticket | …
    id: str | None = None
    department_path: str | None = None  # owning department; None = platform-wide
    visibility: str | None = None  # knowledge bases: public | internal | restricted
    owner_id: str | None = None  # e.g. the user a conversation belongs to
    grants: tuple[tuple[str, str, str], ...] = field(default=())  # (principal_type, principal_id, level)


# Shared, platform-wide configuration (service catalogue, lexicon): changed only by actors not bound to a department.
PLATFORM = Resource("platform")


def actions_of(actor: Actor) -> frozenset[str]:
    if actor.kind == "system":
        return frozenset(ACTIONS)
    if actor.kind == "anonymous":
        base = ANONYMOUS_ACTIONS
    else:
        base = frozenset().union(*(ROLE_ACTIONS.get(r, frozenset()) for r in actor.roles))
    if actor.scopes is not None:
        base = frozenset(a for a in base if _scope_allows(actor.scopes, a))
    return base


def _scope_allows(scopes: frozenset[str], action: str) -> bool:
    return action in scopes or "*" in scopes or f"{action.split('.')[0]}.*" in scopes


def within(path: str | None, root: str | None) -> bool:
    """Is `path` inside the subtree rooted at `root`? root None is the whole platform."""
    if root is None:
        return True
    if path is None:
        return False
    return path == root or path.startswith(root.rstrip("/") + "/")


def _same_branch(a: str | None, b: str | None) -> bool:
    return within(a, b) or within(b, a)


def _granted(actor: Actor, resource: Resource, levels: set[str]) -> bool:
    for ptype, pid, level in resource.grants:
        if level not in levels:
            continue
        if ptype == "user" and pid == actor.user_id:
            return True
        if ptype == "role" and pid in actor.roles:
            return True
        if ptype == "department" and actor.department_path and within(actor.department_path, pid):
            return True
    return False


def _member(actor: Actor, kb: Resource, *, exact: bool = False) -> bool:
    """Does the actor work in the base's department (or below it, unless `exact`)? A platform-wide base has
    platform-wide staff. Writing needs the very department: a district clerk must not edit the province's base."""
    if kb.department_path is None:
        return actor.department_path is None
    return actor.department_path == kb.department_path if exact else within(actor.department_path, kb.department_path)


def _kb_allowed(actor: Actor, action: str, kb: Resource, acts: frozenset[str]) -> bool:
    admin_here = "kb.admin" in acts and within(kb.department_path, actor.department_path)
    if action in ("kb.read", "qa.ask"):
        if kb.visibility == "public":
            return True
        if not actor.authenticated:
            return False
        if admin_here or _granted(actor, kb, {"read", "write"}):
            return True
        if kb.visibility == "internal":
            return kb.department_path is None or _same_branch(actor.department_path, kb.department_path)
        return _member(actor, kb)
    if action == "kb.write":
        return admin_here or _granted(actor, kb, {"write"}) or _member(actor, kb, exact=True)
    if action == "kb.admin":
        return admin_here
    return False


def allowed(actor: Actor, action: str, resource: Resource | None = None) -> bool:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if actor.kind == "system":
        return True
    acts = actions_of(actor)
    if action not in acts:
        return False
    if resource is None:
        return True
    if resource.kind == "kb":
        return _kb_allowed(actor, action, resource, acts)
    if resource.owner_id is not None and resource.owner_id != actor.user_id and "admin" not in actor.roles:
        return False
    if action.endswith(".read"):
        return _same_branch(actor.department_path, resource.department_path)
    return within(resource.department_path, actor.department_path)


def authorize(actor: Actor, action: str, resource: Resource | None = None) -> None:
    """Raise Forbidden unless `actor` may do `action` on `resource`."""
    if not allowed(actor, action, resource):
        what = ACTIONS.get(action, action)
        if not actor.authenticated:
            raise Forbidden(f"请先登录：访客不能{what}", code="LOGIN_REQUIRED")
        raise Forbidden(f"没有权限{what}", detail={"action": action, "resource": resource.kind if resource else None})


# ---- secrets ------------------------------------------------------------------------------------------
# scrypt from the standard library: memory-hard, no extra dependency; parameters per OWASP's minimum.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(got.hex(), digest)


API_KEY_PREFIX = "hb_"


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    # The key carries 256 random bits, so a plain SHA-256 is enough (no salt or stretching needed).
    return hashlib.sha256(key.encode()).hexdigest()

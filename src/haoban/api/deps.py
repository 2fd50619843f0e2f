"""Request dependencies shared by the routers: the knowledge service and the current actor.

Credentials, in order: an API key (`Authorization: Bearer hb_…` or `X-API-Key`), then the console's signed
session cookie. Cookie-authenticated requests that change data must echo the session's CSRF token in the
`X-CSRF-Token` header (the console reads it from a <meta> tag); API keys are not sent by browsers on their own,
so they need no token. No credentials: the visitor actor, which may only read public knowledge bases.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from haoban.errors import Forbidden, Unauthorized
from haoban.knowledge.service import KnowledgeService
from haoban.safety.auth import ANONYMOUS, Actor

SESSION_COOKIE = "haoban_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_service(request: Request) -> KnowledgeService:
    return request.app.state.service


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def resolve_actor(request: Request) -> tuple[Actor, str | None]:
    """The request's actor and, for cookie sessions, its CSRF token. Cached on the request."""
    if hasattr(request.state, "actor"):
        return request.state.actor, request.state.csrf
    svc: KnowledgeService = request.app.state.service
    actor, csrf = ANONYMOUS, None
    key = _api_key(request)
    if key:
        found = svc.users.actor_from_api_key(key)
        if found is None:
            raise Unauthorized("API Key 无效、已吊销或已过期", code="API_KEY_INVALID")
        actor = found
    elif cookie := request.cookies.get(SESSION_COOKIE):
        session = svc.users.actor_from_session(cookie)
        if session is not None:
            actor, csrf = session
    request.state.actor, request.state.csrf = actor, csrf
    return actor, csrf


def current_actor(request: Request) -> Actor:
    actor, csrf = resolve_actor(request)
    if csrf is not None and request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != csrf:
        raise Forbidden("请求缺少有效的 CSRF 令牌，请刷新页面后重试", code="CSRF_FAILED")
    if not actor.authenticated and not request.app.state.service.settings.allow_anonymous:
        raise Unauthorized()
    return actor


Service = Annotated[KnowledgeService, Depends(get_service)]
CurrentActor = Annotated[Actor, Depends(current_actor)]

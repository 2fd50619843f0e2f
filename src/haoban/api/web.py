"""The Chinese web console: server-rendered page shells plus local static files (no CDN, works offline).

Each page is a small Jinja2 shell; the data is loaded by vanilla JS from the REST API under /api.
Pages for a knowledge base or a document check that it exists first, so an unknown id gets a
Chinese 404 page rather than an empty shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from haoban import __version__
from haoban.api.deps import resolve_actor
from haoban.apps.qa.service import MAX_QUESTION_CHARS
from haoban.errors import NotFound
from haoban.safety.auth import ANONYMOUS, ROLES, Actor, actions_of

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def _render(request: Request, name: str, page: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    # root_path lets the console work behind a reverse proxy that serves it under a sub-path.
    base = request.scope.get("root_path", "").rstrip("/")
    try:
        actor, csrf = resolve_actor(request)
    except Exception:  # a bad API key on a page request: show the page as to a visitor
        actor, csrf = ANONYMOUS, None
    values = {
        "page": page, "base": base, "version": __version__, "actor": actor, "csrf": csrf,
        "can": actions_of(actor), "role_names": ROLES, **context,
    }  # fmt: skip
    return templates.TemplateResponse(request, name, values, status_code=status_code)


def _actor(request: Request) -> Actor:
    try:
        return resolve_actor(request)[0]
    except Exception:
        return ANONYMOUS


def render_not_found(request: Request, message: str = "页面不存在") -> HTMLResponse:
    """A Chinese 404 page; usable by the app's error handler for non-API paths."""
    return _render(request, "404.html", "404", status_code=404, message=message)


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(WEB_DIR / "static")), name="static")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return _render(request, "kbs.html", "kbs")

    @app.get("/kbs/{kb_id}", response_class=HTMLResponse, include_in_schema=False)
    def kb_page(request: Request, kb_id: str) -> HTMLResponse:
        try:
            kb = request.app.state.service.get_kb(kb_id, actor=_actor(request))
        except NotFound:
            return render_not_found(request, "知识库不存在或已被删除" if _actor(request).authenticated else "知识库不存在，或需要登录后查看")
        return _render(request, "kb.html", "kbs", kb_id=kb.id, kb_name=kb.name)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request) -> HTMLResponse:
        return _render(request, "search.html", "search")

    @app.get("/ask", response_class=HTMLResponse, include_in_schema=False)
    def ask_page(request: Request) -> HTMLResponse:
        return _render(request, "ask.html", "ask", max_chars=MAX_QUESTION_CHARS)

    @app.get("/guide", response_class=HTMLResponse, include_in_schema=False)
    def guide_page(request: Request) -> HTMLResponse:
        return _render(request, "guide.html", "guide")

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str) -> HTMLResponse:
        try:
            doc = request.app.state.service.get_document(doc_id, actor=_actor(request))
        except NotFound:
            return render_not_found(request, "文档不存在或已被删除" if _actor(request).authenticated else "文档不存在，或需要登录后查看")
        return _render(request, "document.html", "kbs", doc_id=doc.id, doc_title=doc.title)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
        # Only local paths: never bounce a freshly logged-in user to another site.
        target = next if next.startswith("/") and not next.startswith("//") and "\\" not in next and not urlsplit(next).netloc else "/"
        return _render(request, "login.html", "login", next=target)

    # Pages for signed-in staff: visitors are sent to the login page and come back afterwards.
    for path, template, page in (
        ("/admin/users", "users.html", "users"),
        ("/admin/lexicon", "lexicon.html", "lexicon"),
        ("/admin/audit", "audit.html", "audit"),
        ("/hotline", "hotline.html", "hotline"),
        ("/gongwen", "gongwen.html", "gongwen"),
    ):
        app.add_api_route(path, _signed_in_page(path, template, page), methods=["GET"], response_class=HTMLResponse, include_in_schema=False)


def _signed_in_page(path: str, template: str, page: str):
    def handler(request: Request):
        if not _actor(request).authenticated:
            return RedirectResponse(f"{request.scope.get('root_path', '')}/login?next={path}", status_code=303)
        return _render(request, template, page)

    return handler

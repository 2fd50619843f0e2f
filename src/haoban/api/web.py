"""The Chinese web console: server-rendered page shells plus local static files (no CDN, works offline).

Each page is a small Jinja2 shell; the data is loaded by vanilla JS from the REST API under /api.
Pages for a knowledge base or a document check that it exists first, so an unknown id gets a
Chinese 404 page rather than an empty shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from haoban import __version__
from haoban.apps.qa.service import MAX_QUESTION_CHARS
from haoban.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def _render(request: Request, name: str, page: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    # root_path lets the console work behind a reverse proxy that serves it under a sub-path.
    base = request.scope.get("root_path", "").rstrip("/")
    values = {"page": page, "base": base, "version": __version__, **context}
    return templates.TemplateResponse(request, name, values, status_code=status_code)


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
            kb = request.app.state.service.get_kb(kb_id)
        except NotFound:
            return render_not_found(request, "知识库不存在或已被删除")
        return _render(request, "kb.html", "kbs", kb_id=kb.id, kb_name=kb.name)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request) -> HTMLResponse:
        return _render(request, "search.html", "search")

    @app.get("/ask", response_class=HTMLResponse, include_in_schema=False)
    def ask_page(request: Request) -> HTMLResponse:
        return _render(request, "ask.html", "ask", max_chars=MAX_QUESTION_CHARS)

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, doc_id: str) -> HTMLResponse:
        try:
            doc = request.app.state.service.get_document(doc_id)
        except NotFound:
            return render_not_found(request, "文档不存在或已被删除")
        return _render(request, "document.html", "kbs", doc_id=doc.id, doc_title=doc.title)

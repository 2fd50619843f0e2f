"""FastAPI application: routers translate HTTP to service calls; errors become {code, message, detail}."""

from __future__ import annotations

import logging
import re
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from ulid import ULID

from haoban import __version__
from haoban.api import auth, gongwen, guide, hotline, knowledge, lexicon, pii, qa, web
from haoban.apps.gongwen.service import GongwenService
from haoban.apps.guide.service import GuideService
from haoban.apps.hotline.service import HotlineService
from haoban.apps.qa.service import QAService
from haoban.config import Settings, get_settings
from haoban.errors import Forbidden, HaobanError
from haoban.knowledge.service import EmbeddingWorker, KnowledgeService
from haoban.llm.gateway import make_gateway
from haoban.logs import get_logger, log_event, request_id, setup_logging
from haoban.safety.vault import PiiService

log = get_logger("api")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_HTTP_MESSAGES = {404: ("NOT_FOUND", "请求的地址不存在"), 405: ("METHOD_NOT_ALLOWED", "不支持该请求方法")}


def create_app(settings: Settings | None = None, service: KnowledgeService | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        svc = service or KnowledgeService(settings)
        app.state.service = svc
        app.state.pii = PiiService.from_service(svc)
        gateway = make_gateway(settings)
        app.state.gateway = gateway
        app.state.qa = QAService(svc, gateway if gateway.available else None)
        app.state.hotline = HotlineService(svc, app.state.qa, gateway if gateway.available else None)
        app.state.guide = GuideService(svc, gateway if gateway.available else None)
        app.state.gongwen = GongwenService(svc, gateway if gateway.available else None)
        worker = None
        if settings.embed_in_background and svc.embedder is not None:
            worker = EmbeddingWorker(svc)
            worker.start()
        app.state.embedder_worker = worker
        from haoban.safety import pii
        from haoban.text.segment import warm_up

        warm_up()
        pii.warm_up()  # the POS tagger for names and addresses: loaded now, not on the first question
        from haoban.apps.gongwen import review

        review.warm_up()
        svc.lexicon.compiled()
        log_event(log, "server ready", host=settings.host, port=settings.port)
        yield
        if worker:
            worker.stop()
            worker.join(timeout=30)
        gateway.close()
        app.state.gongwen.close()
        if service is None:
            svc.close()

    # FastAPIOffline serves the /docs page's scripts from the package instead of a CDN (air-gapped sites).
    app = FastAPIOffline(
        title="好办 haoban API",
        version=__version__,
        description="政务知识库、检索与问答平台接口。所有错误返回 JSON：{code, message, detail}。",
        lifespan=lifespan,
    )

    @app.middleware("http")
    async def with_request_id(request: Request, call_next):
        # A caller's id is kept only when it looks like one: it goes into logs and the audit log.
        given = request.headers.get("x-request-id", "")
        rid = given if _REQUEST_ID.fullmatch(given) else str(ULID()).lower()
        token = request_id.set(rid)
        try:
            response = await call_next(request)
        finally:
            request_id.reset(token)
        response.headers["x-request-id"] = rid
        return response

    @app.exception_handler(HaobanError)
    async def haoban_error(request: Request, err: HaobanError) -> JSONResponse:
        actor = getattr(request.state, "actor", None)
        if isinstance(err, Forbidden) and actor is not None:
            # Refused attempts are part of the audit trail too (who tried what, where).
            request.app.state.service.audit.record(
                actor, "access.denied", "api", f"{request.method} {request.url.path}"[:200], result="denied", detail={"code": err.code}
            )
        return JSONResponse(err.to_dict(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", [])), "type": e.get("type"), "msg": e.get("msg")} for e in err.errors()]
        return JSONResponse({"code": "INVALID_INPUT", "message": "请求参数不合法", "detail": detail}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        if err.status_code == 404 and not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", ""):
            return web.render_not_found(request)
        code, message = _HTTP_MESSAGES.get(err.status_code, ("HTTP_ERROR", str(err.detail)))
        return JSONResponse({"code": code, "message": message, "detail": None}, status_code=err.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> JSONResponse:
        logging.getLogger("haoban.api").exception("unhandled error")
        return JSONResponse({"code": "INTERNAL_ERROR", "message": "系统内部错误，请联系管理员查看日志", "detail": None}, status_code=500)

    app.include_router(auth.router)
    app.include_router(knowledge.router)
    app.include_router(qa.router)
    app.include_router(hotline.router)
    app.include_router(lexicon.router)
    app.include_router(pii.router)
    app.include_router(guide.router)
    app.include_router(gongwen.router)
    web.mount(app)
    return app


def run(settings: Settings | None = None) -> None:
    import uvicorn

    settings = settings or get_settings()
    setup_logging(settings.log_level, settings.log_json)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")

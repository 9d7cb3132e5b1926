"""Composition root of the web front end (网页): a backend-for-frontend rendering pages.

A lighter runtime than `shared.runtime.ServiceRuntime`: web owns no aggregate, publishes and
consumes no events, so it has no outbox relay, consumer or scheduler. It has its own
database (sessions only); `/readyz` is that database answering, like the other services'
(the services it calls are reported in `/healthz` details, not in readiness: a page of
members should not go dark because events restarts). `/metrics` and JSON logs are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web import filters
from services.web.backend import ApiError, Backend
from services.web.context import LoginRequired, PageRefused, Web, csrf_guard, login_url, visit_of
from services.web.headers import SecurityHeaders
from services.web.limits import BodyLimit
from services.web.pages import (
    admin_activities,
    admin_members,
    admin_webhooks,
    birthdays_desk,
    care,
    desk,
    exams_desk,
    exams_member,
    funds_summary,
    login,
    member,
    notices_desk,
    notifications,
    notify_desk,
    plan,
    voice,
    voice_admin,
    voice_member,
    welfare_desk,
    welfare_member,
)
from services.web.pages import dues as dues_pages
from services.web.pages import funds as funds_pages
from services.web.providers import CALLBACK, PasswordProvider, WeComProvider
from services.web.sessions import Sessions
from services.web.settings import WebSettings
from services.web.uploads import Uploads
from shared.crypto import Sealer
from shared.mongo import connect, database
from shared.observability import configure_logging, health_router, install_request_metrics

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SWEEP_S = 600


class CachedStatic(StaticFiles):
    """Static files with cache headers: vendored files carry their version in the stamp and
    change only with it; our own CSS/JS are small and revalidated."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        path = str(args[0]) if args else ""
        response.headers["Cache-Control"] = (
            "public, max-age=604800, immutable" if "/vendor/" in path else "public, max-age=300"
        )
        return response


def bootstrap(
    settings: WebSettings | None = None,
    configure_logs: bool = True,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or WebSettings()
    if configure_logs:
        configure_logging("web", settings.log_level)
    client = connect(settings)
    db = database(client, settings)
    web_key = Sealer.from_file(settings.web_key_file)
    sessions = Sessions(db, settings.session_ttl_s, web_key)
    uploads = Uploads(db, web_key, settings.upload_max_bytes, settings.upload_keep_s)
    backend = Backend(settings, transports)
    # autoescape on for every template: member names and notice texts are user input
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True)
    templates = Jinja2Templates(env=env)
    filters.install(templates.env)
    web = Web(settings, sessions, backend, templates, PasswordProvider(backend, sessions), uploads)
    if settings.wecom_signin:
        web.wecom = WeComProvider(
            backend,
            sessions,
            db,
            web_key,
            corp_id=settings.wecom_corp_id,
            agent_id=settings.wecom_agent_id,
            authorize_url=settings.wecom_authorize_url,
            public_url=settings.public_url,
        )
    templates.env.globals["wecom_signin"] = web.wecom is not None
    # uvicorn's access log writes each request line, query included: not WeCom's code.
    logging.getLogger("uvicorn.access").addFilter(hide_callback_query)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What an older web kept in clear: tokens are sealed, files dropped (checked again).
        await sessions.seal_clear_tokens()
        await uploads.drop_clear()
        sweeper = asyncio.create_task(_sweep(sessions, uploads, web.wecom))
        log.info("web started")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await backend.close()
            await client.close()
            log.info("web stopped")

    app = FastAPI(
        title="Gonghui 网页 web",
        lifespan=lifespan,
        openapi_url=None,  # pages, not an API: no OpenAPI document (see README)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.web = web
    install_request_metrics(app, "web")
    app.add_middleware(BodyLimit, max_bytes=settings.upload_max_bytes)
    app.add_middleware(SecurityHeaders, https=bool(settings.cookie_secure))

    async def upstream(name: str, url: str) -> str:
        async with httpx.AsyncClient(timeout=2) as probe:
            return "ok" if (await probe.get(f"{url}/readyz")).status_code == 200 else "not ready"

    app.include_router(
        health_router(
            "web",
            ready={"mongodb": sessions.ping},
            details={
                "members": lambda: upstream("members", settings.members_url),
                "events": lambda: upstream("events", settings.events_url),
                "notify": lambda: upstream("notify", settings.notify_url),
                "welfare": lambda: upstream("welfare", settings.welfare_url),
            },
        )
    )
    app.mount("/static", CachedStatic(directory=HERE / "static"), name="static")
    for router in (
        login.router,
        member.router,
        admin_members.router,
        admin_activities.router,
        desk.router,
        care.member_router,
        care.admin_router,
        birthdays_desk.router,  # issue 15: 生日福利 on the care desk
        plan.admin_router,
        plan.member_router,
        notifications.router,  # notify-core: mark all read, 我的通知设置
        admin_webhooks.router,
        voice.member_router,
        voice.admin_router,
        voice_member.router,  # issue 16: commendations and the staff congress
        voice_admin.router,
        welfare_member.router,  # funds-plans
        welfare_desk.router,  # funds-plans
        # funds-pages: the finance desk, 经费公开, dues
        funds_pages.router,
        funds_summary.router,  # issue 14: 收支汇总 by line, campus and month
        dues_pages.router,
        exams_member.router,  # welfare-exams: my exam slot, mutual aid
        exams_desk.router,  # welfare-exams: exam plans, mutual-aid schemes
        notices_desk.router,  # notify-notices: 通知公告 on the cadre desk
        notify_desk.router,  # notify-desk: failed deliveries, templates
    ):
        app.include_router(router)
    install_error_pages(app)
    return app


async def _sweep(sessions: Sessions, uploads: Uploads, wecom: WeComProvider | None) -> None:
    while True:
        await asyncio.sleep(SWEEP_S)
        try:
            await sessions.sweep()
            await uploads.sweep()
            if wecom is not None:
                await wecom.sweep()
        except Exception as exc:  # the database away for a moment: next round
            log.warning("session sweep failed: %s", exc)


def hide_callback_query(record: logging.LogRecord) -> bool:
    """uvicorn.access: the WeCom callback's line without its query (the code, the state)."""
    args = record.args
    if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
        if args[2].startswith(CALLBACK):
            record.args = (*args[:2], CALLBACK, *args[3:])
    return True


def install_error_pages(app: FastAPI) -> None:
    async def page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        visit = await visit_of(request)
        return visit.render("error.html", status_code=status, title=title, message=message)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = exc.next_url if exc.next_url.startswith("/login") else login_url(exc.next_url)
        if request.headers.get("hx-request"):
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PageRefused)
    async def _refused(request: Request, exc: PageRefused) -> HTMLResponse:
        return await page(request, 403, "无权访问", exc.message)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> HTMLResponse:
        if exc.status == 404:
            return await page(request, 404, "未找到", exc.message)
        if exc.status == 403:
            return await page(request, 403, "无权访问", exc.message)
        if exc.status >= 500:
            return await page(request, 502, "服务暂时不可用", "请稍后再试。")
        return await page(request, exc.status, "未能完成", exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> HTMLResponse:
        # A malformed id in an address names nothing; a malformed form field is a form
        # no page of ours sends.
        if request.method in ("GET", "HEAD"):
            return await page(request, 404, "未找到", "页面不存在。")
        return await page(request, 400, "请求未完成", "提交的内容不完整或格式不对，请返回重试。")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
        if exc.status_code == 404:
            return await page(request, 404, "未找到", "页面不存在。")
        return await page(request, exc.status_code, "请求未完成", str(exc.detail))

"""What every page handler gets: the visit (session, CSRF token, preferences), a way to call
the other services as the signed-in member, and one way to render a page.

CSRF: a signed-in browser's forms carry its session's secret (a synchroniser token); before
sign-in, a random `gh_pre` cookie (httpOnly, SameSite=Lax) whose value the login forms repeat.
Every POST is checked before its handler runs (`csrf_guard`, an app-wide dependency): a form
or htmx request without the right token gets the 403 page and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.web.backend import ApiError, Backend
from services.web.org import Org, OrgCache
from services.web.providers import PasswordProvider, WeComProvider
from services.web.sessions import Session, Sessions
from services.web.settings import WebSettings
from services.web.uploads import Uploads
from shared.client import Network, client_address, networks
from shared.timeutil import utcnow

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
REFRESH_MARGIN = timedelta(seconds=60)
LARGE_COOKIE = "gh_large"
PRE_COOKIE = "gh_pre"


@dataclass
class Web:
    """The composition root's product: what pages use (on app.state.web)."""

    settings: WebSettings
    sessions: Sessions
    backend: Backend
    templates: Jinja2Templates
    password: PasswordProvider
    uploads: Uploads
    org: OrgCache = field(default_factory=OrgCache)
    wecom: WeComProvider | None = None  # WeCom sign-in switched on
    trusted: tuple[Network, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.trusted = networks(self.settings.trusted_proxies)

    @property
    def session_cookie(self) -> str:
        return "__Host-gh_session" if self.settings.cookie_secure else "gh_session"

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=bool(self.settings.cookie_secure),
        )


class LoginRequired(Exception):
    """No (valid) session: the page sends the browser to /login and back afterwards."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class PageRefused(Exception):
    """403 page: signed in, but not allowed here (or a form without its CSRF token)."""

    def __init__(self, message: str) -> None:
        self.message = message


@dataclass
class Visit:
    """One request of one browser."""

    request: Request
    web: Web
    session_id: str | None
    session: Session | None
    pre: str | None  # the pre-sign-in CSRF cookie
    new_pre: bool = False
    large: bool = False
    notices: list[str] = field(default_factory=list)
    known_org: Org = field(default_factory=Org)  # what `org()` found: pages show names

    @property
    def csrf(self) -> str:
        if self.session is not None:
            return self.session.csrf
        assert self.pre is not None
        return self.pre

    @property
    def member_id(self) -> str:
        assert self.session is not None
        return self.session.member_id

    @property
    def client(self) -> str:
        """The browser's address (behind a trusted reverse proxy: the one it names)."""
        peer = self.request.client.host if self.request.client else None
        return client_address(peer, self.request.headers, self.web.trusted)

    async def token(self) -> str:
        """The session's access token, refreshed first when it is about to run out."""
        session, session_id = self.session, self.session_id
        if session is None or session_id is None or session.stage != "ok":
            raise LoginRequired(self.request.url.path)
        if session.access_expires_at and session.access_expires_at - utcnow() > REFRESH_MARGIN:
            assert session.access_token
            return session.access_token
        sessions = self.web.sessions
        async with sessions.lock(session_id):
            fresh = await sessions.get(session_id)  # another request may have refreshed it
            if fresh is None or fresh.refresh_token is None:
                raise LoginRequired(self.request.url.path)
            if fresh.access_expires_at and fresh.access_expires_at - utcnow() > REFRESH_MARGIN:
                self.session = fresh
                assert fresh.access_token
                return fresh.access_token
            try:
                answer = await self.web.password.refresh(fresh.refresh_token)
            except ApiError as exc:
                if exc.status == 401:
                    await sessions.delete(session_id)
                    raise LoginRequired(self.request.url.path) from exc
                raise
            fresh.access_token = answer["access_token"]
            fresh.refresh_token = answer["refresh_token"]
            fresh.access_expires_at = utcnow() + timedelta(seconds=answer["expires_in"])
            fresh.roles = list(answer.get("roles") or fresh.roles)
            fresh.campuses = list(answer.get("campuses") or fresh.campuses)
            await sessions.replace(session_id, fresh)
            self.session = fresh
            assert fresh.access_token
            return fresh.access_token

    async def api(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call another service as the signed-in person; a 401 means sign in again."""
        try:
            return await self.web.backend.call(service, method, path, await self.token(), **kwargs)
        except ApiError as exc:
            if exc.status == 401:
                raise LoginRequired(self.request.url.path) from exc
            raise

    async def org(self) -> Org:
        """Campus and small-group names (cached for every visit a minute); a page that shows
        codes asks for it, and its template writes `code|campus`."""
        self.known_org = await self.web.org.get(lambda: self.get("members", "/campuses"))
        return self.known_org

    async def get(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.api(service, "GET", path, **kwargs)

    async def post(self, service: str, path: str, **kwargs: Any) -> Any:
        return await self.api(service, "POST", path, **kwargs)

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        response = self.web.templates.TemplateResponse(
            self.request,
            template,
            {
                "visit": self,
                "session": self.session,
                "large": self.large,
                "org": self.known_org,
                **context,
            },
            status_code=status_code,
        )
        response.headers["Cache-Control"] = "no-store"
        if self.new_pre and self.pre:
            self.web.set_cookie(response, PRE_COOKIE, self.pre, 3600 * 12)
        return response


def get_web(request: Request) -> Web:
    return request.app.state.web


async def visit_of(request: Request) -> Visit:
    """The visit, read once per request (cached on request.state)."""
    cached = getattr(request.state, "visit", None)
    if cached is not None:
        return cached
    web = get_web(request)
    session_id = request.cookies.get(web.session_cookie)
    session = await web.sessions.get(session_id) if session_id else None
    pre = request.cookies.get(PRE_COOKIE)
    new_pre = False
    if session is None and not pre:
        pre, new_pre = secrets.token_urlsafe(24), True
    visit = Visit(
        request=request,
        web=web,
        session_id=session_id if session else None,
        session=session,
        pre=pre,
        new_pre=new_pre,
        large=request.cookies.get(LARGE_COOKIE) == "1",
    )
    request.state.visit = visit
    return visit


async def csrf_guard(request: Request) -> None:
    """Every state-changing request carries the visit's CSRF token (form field or header)."""
    if request.method in SAFE:
        return
    visit = await visit_of(request)
    sent = request.headers.get("x-csrf-token")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    expected = visit.session.csrf if visit.session else (None if visit.new_pre else visit.pre)
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise PageRefused("表单已失效或来源不明（缺少安全校验码），请刷新页面后重试")


async def signed_in(request: Request) -> Visit:
    visit = await visit_of(request)
    if visit.session is None:
        raise LoginRequired(request.url.path)
    if visit.session.stage != "ok":
        raise LoginRequired("/login/password")
    return visit


async def staff(request: Request) -> Visit:
    visit = await signed_in(request)
    assert visit.session is not None
    if not visit.session.staff:
        raise PageRefused("此页面仅供工会干部、经费与审查人员使用")
    return visit


AnyVisit = Annotated[Visit, Depends(visit_of)]
MemberVisit = Annotated[Visit, Depends(signed_in)]
StaffVisit = Annotated[Visit, Depends(staff)]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_url(next_url: str) -> str:
    return "/login?next=" + quote(next_url, safe="/")

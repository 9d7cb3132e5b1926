"""Signing in and out: staff number + password, WeCom (企业微信) OAuth, the first-login password
change, the e-mailed login link (forgot password), and the 长辈版 switch (a preference
cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import RedirectResponse, Response

from services.web.backend import ApiError
from services.web.context import LARGE_COOKIE, AnyVisit, Visit, redirect
from services.web.providers import STATE_TTL_S
from services.web.sessions import Session

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only a path of this site (no scheme, no //host): an open redirect helps phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/m"


def refused(visit: Visit, exc: ApiError, template: str, **context) -> Response | None:
    """Members' throttles (429) and busy hashers (503): the page says so, with the status
    and the `Retry-After` members gave, so a script or proxy sees a refusal, not a page."""
    if exc.status not in (429, 503):
        return None
    response = visit.render(template, status_code=exc.status, error=exc.message, **context)
    retry = exc.problem.get("retry_after")
    if isinstance(retry, int):
        response.headers["Retry-After"] = str(retry)
    return response


def start(visit: Visit, session: Session, session_id: str, target: str) -> Response:
    response = redirect(target)
    visit.web.set_cookie(
        response, visit.web.session_cookie, session_id, visit.web.settings.session_ttl_s
    )
    return response


@router.get("/", include_in_schema=False)
async def root(visit: AnyVisit) -> Response:
    """The front door; role: public."""
    return redirect("/m" if visit.session else "/login")


@router.get("/login")
async def login_page(visit: AnyVisit, next: Annotated[str | None, Query()] = None) -> Response:
    """登录; role: public."""
    return visit.render("login.html", next=safe_next(next), error=None, staff_no="")


@router.post("/login")
async def login(
    visit: AnyVisit,
    staff_no: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/m",
) -> Response:
    """Sign in with staff number and password; role: public."""
    target = safe_next(next)
    try:
        signed = await visit.web.password.sign_in(
            {"staff_no": staff_no, "password": password}, visit.client
        )
    except ApiError as exc:
        slowed = refused(visit, exc, "login.html", next=target, staff_no=staff_no)
        if slowed is not None:
            return slowed
        if exc.code == "auth.account_locked":
            error = exc.message or "连续输错密码 5 次，账号已锁定 15 分钟"
        elif exc.status in (401, 422):
            error = "工号或密码不正确"
        else:
            error = exc.message
        return visit.render(
            "login.html", status_code=200, next=target, error=error, staff_no=staff_no
        )
    session = signed.session
    session_id = await visit.web.sessions.create(session)
    if session.stage == "password":
        return start(visit, session, session_id, "/login/password")
    if target == "/m" and session.staff and "member" not in session.roles:
        target = "/admin"
    return start(visit, session, session_id, target)


@router.get("/login/password")
async def password_page(visit: AnyVisit) -> Response:
    """Choose a new password (first sign-in, a login link, or by choice); role: member."""
    if visit.session is None:
        return redirect("/login")
    return visit.render("password.html", error=None, first=visit.session.stage == "password")


@router.post("/login/password")
async def change_password(
    visit: AnyVisit,
    new_password: Annotated[str, Form()] = "",
    repeat: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form()] = "",
) -> Response:
    """Change the password and start a new session (members ends the old ones); role: member."""
    session, old_id = visit.session, visit.session_id
    if session is None or old_id is None:
        return redirect("/login")
    first = session.stage == "password"
    if new_password != repeat:
        return visit.render("password.html", error="两次输入的新密码不一致", first=first)
    token = session.password_token if first else await visit.token()
    assert token is not None
    try:
        fresh = await visit.web.password.change_password(
            token, None if first else current_password, new_password, session, visit.client
        )
    except ApiError as exc:
        slowed = refused(visit, exc, "password.html", first=first)
        if slowed is not None:
            return slowed
        if exc.status == 401 and first:
            await visit.web.sessions.delete(old_id)
            return redirect("/login")
        return visit.render("password.html", error=exc.message, first=first)
    await visit.web.sessions.delete(old_id)
    session_id = await visit.web.sessions.create(fresh)
    return start(visit, fresh, session_id, "/m")


@router.get("/login/forgot")
async def forgot_page(visit: AnyVisit) -> Response:
    """忘记密码: ask for a login link by e-mail; role: public."""
    return visit.render("forgot.html", sent=None, error=None)


@router.post("/login/forgot")
async def forgot(visit: AnyVisit, staff_no: Annotated[str, Form()] = "") -> Response:
    """Send a one-time login link to the member's e-mail; role: public."""
    try:
        message = await visit.web.password.request_link(staff_no.strip(), visit.client)
    except ApiError as exc:
        slowed = refused(visit, exc, "forgot.html", sent=None)
        if slowed is not None:
            return slowed
        return visit.render("forgot.html", sent=None, error=exc.message)
    return visit.render("forgot.html", sent=message, error=None)


@router.get("/login/link")
async def link_page(visit: AnyVisit) -> Response:
    """The e-mailed link lands here; its token is in the fragment, read by the page's script
    and posted, so it never reaches a server log; role: public."""
    return visit.render("link.html", error=None)


@router.post("/login/link")
async def redeem(visit: AnyVisit, token: Annotated[str, Form()] = "") -> Response:
    """Redeem the link's token: a password-change session; role: public."""
    try:
        signed = await visit.web.password.redeem_link(token, visit.client)
    except ApiError as exc:
        slowed = refused(visit, exc, "link.html")
        if slowed is not None:
            return slowed
        return visit.render("link.html", error="登录链接已失效或已使用，请重新获取")
    session_id = await visit.web.sessions.create(signed.session)
    return start(visit, signed.session, session_id, "/login/password")


# -- WeCom (企业微信) ----------------------------------------------------------------------------

WECOM_COOKIE = "gh_wecom"
WECOM_STATE_ERROR = "登录请求已失效或不是从本页发起，请重新点击「企业微信登录」"


def _wecom_cookie(visit: Visit) -> str:
    return f"__Host-{WECOM_COOKIE}" if visit.web.settings.cookie_secure else WECOM_COOKIE


def _no_wecom(visit: Visit) -> Response:
    return visit.render(
        "error.html", status_code=404, title="未开通", message="本系统未开通企业微信登录"
    )


@router.get("/login/wecom")
async def wecom_start(visit: AnyVisit, next: Annotated[str | None, Query()] = None) -> Response:
    """Go to WeCom's authorize page, with a state bound to this browser; role: public."""
    provider = visit.web.wecom
    if provider is None:
        return _no_wecom(visit)
    started = provider.start(safe_next(next))
    response = RedirectResponse(started.authorize_url, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    visit.web.set_cookie(response, _wecom_cookie(visit), started.cookie, STATE_TTL_S)
    return response


@router.get("/login/wecom/callback")
async def wecom_callback(
    visit: AnyVisit,
    code: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    """WeCom sends the browser back here with a code: the state is checked, members exchanges
    the code, and the session starts as a password sign-in's does; role: public."""
    provider = visit.web.wecom
    if provider is None:
        return _no_wecom(visit)
    cookie_name = _wecom_cookie(visit)

    def page(error: str, status: int = 400) -> Response:
        response = visit.render(
            "login.html", status_code=status, next="/m", error=error, staff_no=""
        )
        response.delete_cookie(cookie_name, path="/")
        return response

    target = await provider.check_state(visit.request.cookies.get(cookie_name), state)
    if target is None:
        return page(WECOM_STATE_ERROR)
    if not code:  # the person declined, or WeCom sent no code
        return page("企业微信未授权登录，请重试或改用工号密码登录", 200)
    try:
        signed = await provider.sign_in({"code": code}, visit.client)
    except ApiError as exc:
        slowed = refused(visit, exc, "login.html", next=target, staff_no="")
        if slowed is not None:
            slowed.delete_cookie(cookie_name, path="/")
            return slowed
        return page(exc.message or "企业微信登录未成功，请改用工号密码登录", 200)
    session = signed.session
    session_id = await visit.web.sessions.create(session)
    if target == "/m" and session.staff and "member" not in session.roles:
        target = "/admin"
    response = start(visit, session, session_id, target)
    response.delete_cookie(cookie_name, path="/")
    return response


@router.post("/logout")
async def logout(visit: AnyVisit) -> Response:
    """Sign out: members ends the refresh token, web deletes the session; role: member."""
    if visit.session is not None and visit.session_id is not None:
        if visit.session.refresh_token:
            try:
                await visit.web.password.sign_out(visit.session.refresh_token)
            except ApiError:
                pass  # already ended there; ours goes anyway
        await visit.web.sessions.delete(visit.session_id)
    response = redirect("/login")
    response.delete_cookie(visit.web.session_cookie, path="/")
    return response


@router.post("/prefs/large")
async def large_text(visit: AnyVisit, back: Annotated[str, Form()] = "/m") -> Response:
    """Switch the 长辈版 (large text) on or off for this browser; role: public."""
    response = redirect(safe_next(back))
    visit.web.set_cookie(response, LARGE_COOKIE, "0" if visit.large else "1", 3600 * 24 * 365)
    return response

"""Accounts and sign-in routes (登录): passwords, sessions, login links, the signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import jwt
from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from services.members.accounts.domain import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    PASSWORD_RULE,
    PASSWORD_TEXT,
    Account,
    FailureWindow,
)
from services.members.accounts.handlers import PASSWORD_AUDIENCE, AccountService, SignInResult
from services.members.accounts.throttle import Throttles
from services.members.deps import Cadre, MemberId
from services.members.membership.api import Members, visible
from shared.auth import CurrentUser, Role, TokenVerifier, bearer_scheme, jwks
from shared.client import client_address
from shared.problems import PROBLEM_RESPONSES, THROTTLED_RESPONSES, ProblemError
from shared.runtime import provided
from shared.text import STAFF_NO_TEXT
from shared.timeutil import as_local

Accounts = Annotated[AccountService, Depends(provided("accounts"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["认证 auth"])

TOKEN_TEXT = r"^[A-Za-z0-9_\-]{20,200}$"
NO_STORE = "no-store"  # tokens must not sit in a browser's or a proxy's cache


class Credentials(BaseModel):
    staff_no: str = Field(max_length=40, pattern=STAFF_NO_TEXT, description="工号")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX, description="密码")


class NewPassword(BaseModel):
    password: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        pattern=PASSWORD_TEXT,
        description=f"新密码：{PASSWORD_RULE}",
    )


class PasswordChange(BaseModel):
    current_password: str | None = Field(
        None,
        min_length=1,
        max_length=PASSWORD_MAX,
        description="当前密码；用改密令牌（首次登录或登录链接）时不必填",
    )
    new_password: str = Field(
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
        pattern=PASSWORD_TEXT,
        description=f"新密码：{PASSWORD_RULE}",
    )


class RefreshToken(BaseModel):
    refresh_token: str = Field(pattern=TOKEN_TEXT, description="登录时得到的刷新令牌")


class LinkRequest(BaseModel):
    staff_no: str = Field(max_length=40, pattern=STAFF_NO_TEXT, description="工号")


class LinkToken(BaseModel):
    token: str = Field(pattern=TOKEN_TEXT, description="登录链接中的令牌（#token= 之后）")


class LinkRequested(BaseModel):
    message: str


class SessionPublic(BaseModel):
    status: Literal["ok", "password_change_required"] = Field(
        description="ok：已登录；password_change_required：须先用 password_token 修改密码"
    )
    member_id: str
    token_type: Literal["Bearer"] = "Bearer"
    access_token: str | None = Field(description="访问令牌（EdDSA JWT），各服务用 JWKS 验证")
    expires_in: int | None = Field(description="访问令牌有效秒数")
    refresh_token: str | None = Field(description="刷新令牌：每次使用后换新，只能用一次")
    refresh_expires_at: datetime | None
    password_token: str | None = Field(
        description="只能用于 POST /auth/password 的短期改密令牌（首次登录、登录链接）"
    )
    password_token_expires_in: int | None
    roles: list[str]
    campuses: list[str]

    @classmethod
    def of(cls, result: SignInResult) -> SessionPublic:
        return cls(
            status=result.status,
            member_id=result.member_id,
            access_token=result.access_token,
            expires_in=result.expires_in,
            refresh_token=result.refresh_token,
            refresh_expires_at=(
                as_local(result.refresh_expires_at) if result.refresh_expires_at else None
            ),
            password_token=result.password_token,
            password_token_expires_in=result.password_token_expires_in,
            roles=list(result.roles),
            campuses=list(result.campuses),
        )


def client_of(request: Request, accounts: Accounts) -> str:
    """The address the throttles count this request as (see shared/client.py)."""
    throttles: Throttles = accounts.throttles
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers, throttles.trusted)


Client = Annotated[str, Depends(client_of)]


def _session(result: SignInResult, response: Response) -> SessionPublic:
    response.headers["Cache-Control"] = NO_STORE
    return SessionPublic.of(result)


class AccountPublic(BaseModel):
    member_id: str
    has_password: bool
    must_change_password: bool
    password_set_at: datetime | None
    password_set_by: str | None
    locked: bool
    locked_until: datetime | None
    failures: int = Field(description="本轮连续输错密码的次数（5 次锁定）")
    signed_in_at: datetime | None

    @classmethod
    def of(
        cls, member_id: str, account: Account | None, window: FailureWindow | None, now: datetime
    ) -> AccountPublic:
        until = window.locked_until if window and window.locked(now) else None
        local = lambda t: as_local(t) if t else None  # noqa: E731
        return cls(
            member_id=member_id,
            has_password=bool(account and account.password_hash),
            must_change_password=bool(account and account.must_change_password),
            password_set_at=local(account.password_set_at) if account else None,
            password_set_by=account.password_set_by if account else None,
            locked=until is not None,
            locked_until=local(until),
            failures=window.failures if window else 0,
            signed_in_at=local(account.signed_in_at) if account else None,
        )


# -- signing in -------------------------------------------------------------------------------


@router.get("/.well-known/jwks.json")
async def signing_keys(request: Request) -> dict:
    """The public keys that verify Gonghui tokens; public."""
    return jwks(request.app.state.token_verifier.public_key)


@router.post("/auth/login", responses=THROTTLED_RESPONSES)
async def login(
    body: Credentials, accounts: Accounts, response: Response, client: Client
) -> SessionPublic:
    """Sign in with staff number and password; public. A wrong password and an unknown staff
    number are the same 401; the fifth wrong password in a row locks the account for 15
    minutes, which only the right password is told (401 auth.account_locked). Too many wrong
    passwords from one address, or tries for one staff number, are a 429 auth.throttled with
    Retry-After; a flood is refused with 503 auth.busy. A password a cadre set must be
    changed first: the answer is then `password_change_required` with a token only
    POST /auth/password takes."""
    return _session(await accounts.sign_in(body.staff_no, body.password, client), response)


@router.post("/auth/refresh")
async def refresh(body: RefreshToken, accounts: Accounts, response: Response) -> SessionPublic:
    """A new access token and a new refresh token for a refresh token, which is used up;
    public (the refresh token is the credential). A used or revoked one is a 401."""
    return _session(await accounts.refresh(body.refresh_token), response)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshToken, accounts: Accounts) -> None:
    """End the session the refresh token belongs to (every token rotated from it); public
    (the refresh token is the credential). Access tokens run out by themselves (15 min)."""
    await accounts.sign_out(body.refresh_token)


@dataclass(frozen=True)
class PasswordCaller:
    member_id: str
    jti: str | None  # set when the caller holds a password-change token


def password_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> PasswordCaller:
    """A member's access token, or the password-change token of a sign-in."""
    if credentials is None:
        raise ProblemError("auth.missing_token", 401, "请先登录（缺少 Bearer 令牌）")
    verifier: TokenVerifier = request.app.state.token_verifier
    token = credentials.credentials
    try:
        audience = jwt.decode(token, options={"verify_signature": False}).get("aud")
    except jwt.InvalidTokenError as exc:
        raise ProblemError("auth.invalid_token", 401, "身份令牌无效") from exc
    if audience == PASSWORD_AUDIENCE:
        claims = verifier.decode(token, PASSWORD_AUDIENCE)
        if not isinstance(claims.get("jti"), str):
            raise ProblemError("auth.invalid_token", 401, "身份令牌无效")
        return PasswordCaller(str(claims["sub"]), claims["jti"])
    principal = verifier.verify(token)
    principal.require(Role.member)
    return PasswordCaller(principal.subject, None)


@router.post("/auth/password", responses=THROTTLED_RESPONSES)
async def change_password(
    body: PasswordChange,
    accounts: Accounts,
    response: Response,
    caller: Annotated[PasswordCaller, Depends(password_caller)],
    client: Client,
) -> SessionPublic:
    """The member chooses their own password and gets a new session (earlier sessions end);
    role: member (themself), with the password-change token of a sign-in or a login link, or
    with an access token and the current password."""
    result = await accounts.change_password(
        caller.member_id, body.current_password, body.new_password, jti=caller.jti, client=client
    )
    return _session(result, response)


@router.post(
    "/auth/login-link", status_code=status.HTTP_202_ACCEPTED, responses=THROTTLED_RESPONSES
)
async def request_login_link(
    body: LinkRequest, accounts: Accounts, client: Client
) -> LinkRequested:
    """Ask for a one-time login link by e-mail (forgot the password); public. The answer is
    the same whether the staff number exists or not; the link works once, for 15 minutes.
    Requests per address and per staff number are throttled (429), mails per member capped
    per minute and per day (silently)."""
    await accounts.request_link(body.staff_no, client)
    return LinkRequested(message="如该工号已登记邮箱，登录链接已发送，15 分钟内有效")


@router.post("/auth/login-link/redeem", responses=THROTTLED_RESPONSES)
async def redeem_login_link(
    body: LinkToken, accounts: Accounts, response: Response, client: Client
) -> SessionPublic:
    """Exchange a login link's token for a session (and a password-change token, to choose a
    new password); public (the link is the credential); a used or expired link is a 401, and
    many of them from one address a 429. A password lock does not stop a link."""
    return _session(await accounts.redeem_link(body.token, client), response)


class WeComCode(BaseModel):
    code: str = Field(
        min_length=1,
        max_length=512,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="企业微信网页授权回调带回的 code（只能用一次，5 分钟内有效）",
    )


@router.post(
    "/auth/wecom",
    responses={
        404: {"description": "未开通企业微信登录", "content": {"application/problem+json": {}}},
        **THROTTLED_RESPONSES,
    },
)
async def wecom_login(
    body: WeComCode, accounts: Accounts, response: Response, client: Client
) -> SessionPublic:
    """Sign in with a WeCom (企业微信) OAuth code; public (WeCom vouches for the person:
    members exchanges the code for a user id at WeCom and finds the member by `wecom_userid`).
    An unknown user id and a code WeCom refuses are the same 401 auth.wecom_refused; an
    account locked by wrong passwords stays locked (401 auth.account_locked); 404
    auth.wecom_disabled when WeCom sign-in is not configured; 503 when WeCom cannot be
    reached; codes that name nobody are throttled per address (429)."""
    return _session(await accounts.sign_in_wecom(body.code, client), response)


# -- a member's account, for cadres -------------------------------------------------------------


@router.put("/members/{member_id}/password")
async def set_password(
    member_id: MemberId, body: NewPassword, members: Members, accounts: Accounts, user: Cadre
) -> AccountPublic:
    """Set a member's initial password or reset it (the member must change it at the next
    sign-in; their sessions end); role: cadre of the member's campus (admin for members whose
    union roles give more than the caller has)."""
    member = await members.store.require(member_id)
    visible(user, member)
    account = await accounts.set_password(member, body.password, user)
    window = await accounts.failures.window(account.id, account.window)
    return AccountPublic.of(member_id, account, window, accounts.clock())


@router.get("/members/{member_id}/account")
async def get_account(
    member_id: MemberId, members: Members, accounts: Accounts, user: CurrentUser
) -> AccountPublic:
    """Whether a member has a password, must change it, is locked; role: the member themself,
    or cadre / auditor of the campus."""
    if not user.has_role(Role.cadre, Role.auditor):
        user.require_self(member_id, "只能查看本人的账号")
    visible(user, await members.store.require(member_id))
    account, window = await accounts.status(member_id)
    return AccountPublic.of(member_id, account, window, accounts.clock())


@router.post("/members/{member_id}/account/unlock")
async def unlock_account(
    member_id: MemberId, members: Members, accounts: Accounts, user: Cadre
) -> AccountPublic:
    """Lift a lock before its 15 minutes run out (written to the audit log; a no-op when the
    account is not locked); role: cadre of the member's campus."""
    member = await members.store.require(member_id)
    visible(user, member)
    await accounts.unlock_by(member, user)
    account, window = await accounts.status(member_id)
    return AccountPublic.of(member_id, account, window, accounts.clock())

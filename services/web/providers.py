"""How a person proves who they are to web: one interface, two implementations.

`PasswordProvider` signs in with the staff number and password at members (`/auth/login`),
and also completes a first-login password change and redeems an e-mailed login link.
`WeComProvider` (企业微信) sends the browser to WeCom's OAuth authorize page and, on its way
back, hands the code to members (`/auth/wecom`), which alone holds the WeCom secret and
finds the member by user id. The pages and the session store are the same for both.

The OAuth `state` (RFC 6749 §10.12, against a forged callback signing a browser into
someone else's account): a random nonce in a short-lived cookie sealed with web's key
(AES-GCM: it cannot be made or altered elsewhere; it carries its issue time and the page
to return to); the `state` in the URL is the nonce's SHA-256, so the cookie's value never
travels in a URL. The callback compares them in constant time, refuses one older than ten
minutes, and claims the nonce once in web's database (a unique-key insert): a replayed
callback, even with the cookie, signs nobody in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from pymongo.asynchronous.database import AsyncDatabase

from services.web.backend import Backend
from services.web.sessions import Session, Sessions
from shared.claims import claim_once
from shared.crypto import Sealer, SealError
from shared.timeutil import utcnow


@dataclass(frozen=True)
class SignIn:
    """What members answered: a session, or a password change to make first."""

    session: Session


class AuthProvider(Protocol):
    name: str
    label: str  # the button on the login page

    async def sign_in(self, form: dict[str, str], client: str | None = None) -> SignIn: ...


def session_of(sessions: Sessions, answer: dict[str, Any], provider: str) -> Session:
    """A web session from members' SessionPublic answer."""
    stage = "ok" if answer["status"] == "ok" else "password"
    expires_in = answer.get("expires_in")
    return sessions.new(
        member_id=answer["member_id"],
        roles=list(answer.get("roles") or []),
        campuses=list(answer.get("campuses") or []),
        stage=stage,
        access_token=answer.get("access_token"),
        access_expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
        refresh_token=answer.get("refresh_token"),
        password_token=answer.get("password_token"),
        provider=provider,
    )


class PasswordProvider:
    """工号 + 密码 at members; lockout and first-login change are members' rules."""

    name = "password"
    label = "工号登录"

    def __init__(self, backend: Backend, sessions: Sessions) -> None:
        self.backend = backend
        self.sessions = sessions

    async def sign_in(self, form: dict[str, str], client: str | None = None) -> SignIn:
        """`client` (here and below): the browser's address, which members throttles by."""
        answer = await self.backend.call(
            "members",
            "POST",
            "/auth/login",
            json={"staff_no": form.get("staff_no", ""), "password": form.get("password", "")},
            client=client,
        )
        return SignIn(session_of(self.sessions, answer, self.name))

    async def redeem_link(self, token: str, client: str | None = None) -> SignIn:
        answer = await self.backend.call(
            "members", "POST", "/auth/login-link/redeem", json={"token": token}, client=client
        )
        return SignIn(session_of(self.sessions, answer, self.name))

    async def request_link(self, staff_no: str, client: str | None = None) -> str:
        answer = await self.backend.call(
            "members", "POST", "/auth/login-link", json={"staff_no": staff_no}, client=client
        )
        return str(answer["message"])

    async def change_password(
        self,
        token: str,
        current: str | None,
        new: str,
        previous: Session,
        client: str | None = None,
    ) -> Session:
        body: dict[str, Any] = {"new_password": new}
        if current:
            body["current_password"] = current
        answer = await self.backend.call(
            "members", "POST", "/auth/password", token, json=body, client=client
        )
        return session_of(self.sessions, answer, previous.provider)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        return await self.backend.call(
            "members", "POST", "/auth/refresh", json={"refresh_token": refresh_token}
        )

    async def sign_out(self, refresh_token: str) -> None:
        await self.backend.call(
            "members", "POST", "/auth/logout", json={"refresh_token": refresh_token}
        )


STATE_TTL_S = 600
STATE_USES = "wecom_state_uses"
CALLBACK = "/login/wecom/callback"


def state_of(nonce: str) -> str:
    return hashlib.sha256(f"gonghui-wecom-state:{nonce}".encode()).hexdigest()


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the cookie that binds the state to it."""

    authorize_url: str
    cookie: str


class WeComProvider:
    """企业微信: OAuth (snsapi_base) at WeCom, the code exchanged by members."""

    name = "wecom"
    label = "企业微信登录"

    def __init__(
        self,
        backend: Backend,
        sessions: Sessions,
        db: AsyncDatabase,
        sealer: Sealer,
        *,
        corp_id: str,
        agent_id: int,
        authorize_url: str,
        public_url: str,
    ) -> None:
        self.backend = backend
        self.sessions = sessions
        self.uses = db[STATE_USES]
        self.sealer = sealer
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.authorize_base = authorize_url
        self.callback_url = public_url.rstrip("/") + CALLBACK

    def start(self, next_path: str) -> Started:
        nonce = secrets.token_urlsafe(32)
        cookie = self.sealer.seal(f"{int(time.time())}|{nonce}|{next_path}", "wecom_state")
        query = urlencode(
            {
                "appid": self.corp_id,
                "redirect_uri": self.callback_url,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state_of(nonce),
                "agentid": str(self.agent_id),
            },
            quote_via=quote,
            safe="",
        )
        return Started(f"{self.authorize_base}?{query}#wechat_redirect", cookie)

    async def check_state(self, cookie: str | None, state: str | None) -> str | None:
        """The page to return to when `state` is the one this browser was given, not too old
        and not used before; None otherwise (no cookie, forged, expired, replayed)."""
        if not cookie or not state:
            return None
        try:
            issued, nonce, next_path = self.sealer.open(cookie, "wecom_state").split("|", 2)
            age = time.time() - int(issued)
        except (SealError, ValueError):
            return None
        if not hmac.compare_digest(state_of(nonce), state) or not 0 <= age <= STATE_TTL_S:
            return None
        expires = utcnow() + timedelta(seconds=STATE_TTL_S)
        used = hashlib.sha256(f"gonghui-wecom-used:{nonce}".encode()).hexdigest()
        if not await claim_once(self.uses, used, {"expires_at": expires}):
            return None
        return next_path

    async def sign_in(self, form: dict[str, str], client: str | None = None) -> SignIn:
        """`form["code"]`: WeCom's code, checked state; members asks WeCom who it is."""
        answer = await self.backend.call(
            "members", "POST", "/auth/wecom", json={"code": form.get("code", "")}, client=client
        )
        return SignIn(session_of(self.sessions, answer, self.name))

    async def sweep(self) -> int:
        """Forget used states once they could no longer be accepted anyway."""
        done = await self.uses.delete_many({"expires_at": {"$lt": utcnow()}})
        return done.deleted_count

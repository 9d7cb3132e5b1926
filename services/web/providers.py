"""How a person proves who they are to web: one interface, one implementation today.

`PasswordProvider` signs in with the staff number and password at members (`/auth/login`),
and also completes a first-login password change and redeems an e-mailed login link. WeCom
(企业微信) OAuth is a later issue: it will be another `AuthProvider` whose `start` redirects
to WeCom and whose callback exchanges the code for a members session; the pages and the
session store do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from services.web.backend import Backend
from services.web.sessions import Session, Sessions
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

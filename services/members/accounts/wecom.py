"""WeCom (企业微信) sign-in: an OAuth code becomes a WeCom user id, server-side.

The browser brings back a `code` from WeCom's authorize page (web's `WeComProvider`); members
— the only holder of the application's secret — exchanges it with WeCom's documented APIs:
`GET /cgi-bin/gettoken?corpid&corpsecret` (the access token, cached until a little before
its `expires_in`, fetched by one request at a time) and
`GET /cgi-bin/auth/getuserinfo?access_token&code` (→ `userid` of a member of the corp; a
non-member gets only an `openid`). Any `errcode` other than 0 refuses the sign-in; a refused
access token (40014, 42001, 40001) is dropped and fetched again once. Redirects are not
followed. Nothing here logs the code, the access token or the secret: httpx logs every URL it
requests at INFO, query included, so its logger is held at WARNING while this module is used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from shared.problems import ProblemError

log = logging.getLogger(__name__)
# httpx writes "HTTP Request: GET …?corpsecret=…" at INFO: never that.
logging.getLogger("httpx").setLevel(logging.WARNING)


class WeComDown(Exception):
    """WeCom answered 5xx: an outage, like a connection that fails."""


OUTAGE = (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError, WeComDown)
TOKEN_REFUSED = frozenset({40001, 40014, 42001})  # invalid secret/token, token expired
EARLY_S = 300  # renew the cached token five minutes before WeCom says it runs out


def refused() -> ProblemError:
    """Every refusal a stranger could cause looks the same (unknown user id, a code that
    WeCom does not know or that was used, a non-member of the corp)."""
    return ProblemError(
        "auth.wecom_refused", 401, "企业微信登录未成功，请重新进入或改用工号密码登录"
    )


def unavailable() -> ProblemError:
    problem = ProblemError(
        "auth.wecom_unavailable", 503, "企业微信暂时无法连接，请稍后再试或改用工号密码登录"
    )
    problem.headers = {"Retry-After": "30"}
    return problem


def disabled() -> ProblemError:
    return ProblemError("auth.wecom_disabled", 404, "本系统未开通企业微信登录")


@dataclass(frozen=True)
class WeComConfig:
    base_url: str
    corp_id: str
    secret: SecretStr
    timeout_s: float = 10.0


class WeComError(Exception):
    """WeCom answered with an error code (or something that is not its answer)."""

    def __init__(self, what: str, errcode: int | None) -> None:
        super().__init__(f"{what}: errcode {errcode}")
        self.errcode = errcode


class WeComSignIn:
    """The code → user id exchange, with the access token cached in this process."""

    def __init__(self, config: WeComConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self._transport = transport
        self._token: tuple[str, float] | None = None  # (token, monotonic deadline)
        self._fetching = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.config.base_url,
            timeout=self.config.timeout_s,
            follow_redirects=False,
            transport=self._transport,
        )

    async def user_id(self, code: str) -> str:
        """The WeCom user id the code stands for; `refused()` or `unavailable()` otherwise."""
        try:
            async with self._client() as http:
                for attempt in (1, 2):
                    token = await self._access_token(http)
                    try:
                        data = await _get(
                            http, "/cgi-bin/auth/getuserinfo", "getuserinfo",
                            access_token=token, code=code,
                        )  # fmt: skip
                    except WeComError as exc:
                        if exc.errcode in TOKEN_REFUSED and attempt == 1:
                            self._drop(token)
                            continue
                        log.info("WeCom sign-in refused by WeCom: errcode %s", exc.errcode)
                        raise refused() from None
                    userid = data.get("userid") or data.get("UserId")
                    if not isinstance(userid, str) or not userid:
                        log.info("WeCom sign-in refused: not a member of the corp")
                        raise refused()
                    return userid
        except OUTAGE as exc:
            log.warning("WeCom unreachable at %s: %s", self.config.base_url, type(exc).__name__)
            raise unavailable() from None
        raise refused()

    def _drop(self, token: str) -> None:
        if self._token and self._token[0] == token:
            self._token = None

    async def _access_token(self, http: httpx.AsyncClient) -> str:
        cached = self._token
        if cached and cached[1] > time.monotonic():
            return cached[0]
        async with self._fetching:  # concurrent sign-ins fetch it once
            cached = self._token
            if cached and cached[1] > time.monotonic():
                return cached[0]
            try:
                data = await _get(
                    http, "/cgi-bin/gettoken", "gettoken",
                    corpid=self.config.corp_id,
                    corpsecret=self.config.secret.get_secret_value(),
                )  # fmt: skip
            except WeComError as exc:
                # The corp id or secret is wrong: the operator's to fix, not the member's.
                log.error(
                    "WeCom gettoken refused: errcode %s (check corp id and secret)", exc.errcode
                )
                raise unavailable() from None
            token = data.get("access_token")
            if not isinstance(token, str) or not token:
                raise unavailable()
            expires_in = data.get("expires_in")
            ttl = float(expires_in) if isinstance(expires_in, int | float) else 7200.0
            self._token = (token, time.monotonic() + max(ttl - EARLY_S, ttl / 2))
            return token


async def _get(http: httpx.AsyncClient, path: str, what: str, **params: str) -> dict:
    answer = await http.get(path, params=params)
    if answer.status_code >= 500:
        raise WeComDown(f"{what}: HTTP {answer.status_code}")
    if answer.status_code >= 300:
        raise WeComError(f"{what}: HTTP {answer.status_code}", None)
    try:
        data = answer.json()
    except ValueError:
        raise WeComError(f"{what}: not JSON", None) from None
    if not isinstance(data, dict):
        raise WeComError(f"{what}: not an object", None)
    errcode = data.get("errcode", 0)
    if errcode not in (0, None):
        raise WeComError(what, errcode if isinstance(errcode, int) else None)
    return data

"""The HTTP side of a webhook: resolve the host, check every address, post to a checked one.

The host is resolved at every try, and the request goes to the address that was checked (the
`Host` header and the TLS server name stay the host's), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot steer a delivery into the school's
network. Redirects are never followed: a 3xx is a failed try like any other non-2xx.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

import httpx

from services.notify.webhooks.domain import check_addresses, check_url, sign
from shared.envelope import CONTENT_TYPE
from shared.errors import DomainError, Refused

USER_AGENT = "Gonghui-Webhooks/1"


async def resolve(host: str, port: int, timeout_s: float = 5.0) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s
        )
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def checked_address(url: str, allow_local: bool) -> str:
    """The address to post to: the first of the host's, once all of them passed the check."""
    _, host, port = check_url(url, allow_local)
    addresses = await resolve(host, port)
    check_addresses(host, addresses, allow_local)
    return addresses[0]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    code: int | None
    error: str | None
    duration_ms: int


class Sender:
    def __init__(self, timeout_s: float, allow_local: bool) -> None:
        self.allow_local = allow_local
        self.timeout_s = timeout_s
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the checked address is the peer
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, secret: str, msg_id: str, body: bytes) -> Outcome:
        started = time.monotonic()
        took = lambda: int((time.monotonic() - started) * 1000)  # noqa: E731
        try:
            address = await checked_address(url, self.allow_local)
        except DomainError as exc:
            return Outcome(False, None, exc.message, took())
        target = httpx.URL(url)
        timestamp = int(time.time())
        headers = {
            "content-type": CONTENT_TYPE,
            "user-agent": USER_AGENT,
            "host": target.netloc.decode("ascii"),
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        pinned = target.copy_with(host=address)
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            code = await asyncio.wait_for(
                self._status(pinned, body, headers, extensions), self.timeout_s
            )
        except TimeoutError:
            return Outcome(False, None, f"超时（{self.timeout_s:g} 秒）", took())
        except httpx.HTTPError as exc:
            return Outcome(False, None, f"连接失败：{type(exc).__name__}", took())
        if 200 <= code < 300:
            return Outcome(True, code, None, took())
        if 300 <= code < 400:
            return Outcome(False, code, "收到重定向（不跟随）", took())
        return Outcome(False, code, f"HTTP {code}", took())

    async def _status(
        self, url: httpx.URL, body: bytes, headers: dict[str, str], extensions: dict
    ) -> int:
        """The answer's status only: its body is never read (a receiver cannot make notify
        hold a large answer in memory), and the whole exchange is bounded by `post`."""
        request = self.client.build_request(
            "POST", url, content=body, headers=headers, extensions=extensions
        )
        response = await self.client.send(request, stream=True)
        await response.aclose()
        return response.status_code


__all__ = ["Outcome", "Refused", "Sender", "checked_address", "resolve"]

"""Calls to the other services' HTTP APIs, made by web on behalf of a signed-in browser.

The browser never holds a bearer token: web adds the session's access token here. A GET is
tried twice when the connection fails or times out (the other service restarting); a write
is tried once, because a write whose answer was lost may have happened (the APIs make a
repeated sign-up or payment harmless, but a page should not count on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from services.web.settings import WebSettings
from shared.client import CLIENT_HEADER


@dataclass
class ApiError(Exception):
    """A 4xx/5xx answer (RFC 9457 problem) or an unreachable service."""

    status: int
    code: str
    message: str
    problem: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class Backend:
    """One HTTP client per service, shared by all requests of the process."""

    def __init__(
        self,
        settings: WebSettings,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transports` (tests, the bench): call a service in-process instead of over TCP."""
        timeout = httpx.Timeout(settings.api_timeout_s, connect=3.0)
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=20)
        self.clients = {
            name: httpx.AsyncClient(
                base_url=url,
                timeout=timeout,
                limits=limits,
                transport=(transports or {}).get(name),
            )
            for name, url in (
                ("members", settings.members_url),
                ("events", settings.events_url),
                ("welfare", settings.welfare_url),
                ("notify", settings.notify_url),
            )
        }

    async def close(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        raw: bool = False,
        client: str | None = None,
    ) -> Any:
        """`client`: the browser's address, for members' sign-in throttles (members believes
        it because web's address is among its trusted proxies)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client:
            headers[CLIENT_HEADER] = client
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        tries = 2 if method == "GET" else 1
        for attempt in range(tries):
            try:
                response = await self.clients[service].request(
                    method, path, params=clean, json=json, files=files, headers=headers
                )
                break
            except httpx.TransportError as exc:
                if attempt + 1 == tries:
                    raise ApiError(
                        503, "web.unavailable", "服务暂时不可用，请稍后再试", {"detail": str(exc)}
                    ) from exc
        if response.status_code >= 400:
            raise error_of(response)
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return None
        return response.json()


def error_of(response: httpx.Response) -> ApiError:
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    code = str(problem.get("code") or f"http.{response.status_code}")
    message = str(problem.get("title") or "请求未成功")
    if response.status_code == 422 and problem.get("detail"):
        message = f"{message}：{problem['detail']}"
    return ApiError(response.status_code, code, message, problem)

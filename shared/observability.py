"""Health, readiness and request metrics of a service's web side (FastAPI).

The web-free part (trace ids, metrics, JSON logs) is `shared.telemetry`; the names below
are re-exported for the web edge's composition roots.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.envelope import new_traceparent, trace_id_of
from shared.telemetry import (
    HTTP_REQUESTS,
    HTTP_SECONDS,
    configure_logging,
    trace_id_var,
)

__all__ = ["configure_logging", "health_router", "install_request_metrics", "trace_id_var"]


ReadinessCheck = Callable[[], Awaitable[None]]
HealthDetail = Callable[[], Awaitable[object]]


def health_router(
    service: str, ready: dict[str, ReadinessCheck], details: dict[str, HealthDetail]
) -> APIRouter:
    """`/healthz` (alive, with details), `/readyz` (can serve requests), `/metrics`.

    Readiness means "can serve requests": the service's database answers. Kafka is not part
    of it — writes go to the outbox and wait there while Kafka is away, so a readiness probe
    built on Kafka would turn a Kafka outage into an HTTP outage. Kafka and the outbox
    backlog are reported in `/healthz` details and in `/metrics` instead.
    """
    router = APIRouter(tags=["运维 operations"])

    @router.get("/healthz", summary="存活检查 liveness")
    async def healthz() -> dict[str, object]:
        """Answers 200 while the process runs, with Kafka and outbox details; public."""
        found: dict[str, object] = {}
        for name, detail in details.items():
            try:
                found[name] = await detail()
            except Exception as exc:
                found[name] = f"unavailable: {type(exc).__name__}"
        return {"status": "ok", "service": service, "details": found}

    @router.get("/readyz", summary="就绪检查 readiness", responses={503: {}})
    async def readyz() -> JSONResponse:
        """Answers 200 when the service's database answers, 503 otherwise; public."""
        results: dict[str, str] = {}
        for name, check in ready.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in results.values())
        return JSONResponse({"ready": ok, "checks": results}, status_code=200 if ok else 503)

    @router.get("/metrics", summary="Prometheus 指标", response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format; public, for the operator's scraper."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


# Label values come from a fixed set, whatever a client sends: every distinct value is a new
# time series held in memory for good, so a scanner trying methods (or paths) by the
# thousand must not be able to grow them. Paths are route templates, or "unmatched".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def route_label(route: object) -> str:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestMetrics:
    """Counts and times every request by route template, and carries its trace id.

    Pure ASGI (not `BaseHTTPMiddleware`, which runs the app in a task of its own behind
    memory streams: about a tenth of a small request's CPU, measured on the vote burst)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before it started one
        headers = dict(scope.get("headers") or [])
        traceparent = headers.get(b"traceparent", b"").decode("latin-1") or None
        # Continue the caller's trace (or start one) so logs and emitted events share it.
        trace_id = trace_id_of(traceparent) or new_traceparent().split("-")[1]
        token = trace_id_var.set(trace_id)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            trace_id_var.reset(token)
            # The router wrote the matched route into this same scope.
            path = route_label(scope.get("route"))
            method = method_label(scope.get("method", ""))
            HTTP_REQUESTS.labels(self.service, method, path, status).inc()
            HTTP_SECONDS.labels(self.service, method, path).observe(time.perf_counter() - started)


def install_request_metrics(app: FastAPI, service: str) -> None:
    app.add_middleware(RequestMetrics, service=service)

"""Health, readiness, Prometheus metrics and JSON logs carrying the trace id."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

from shared.envelope import new_traceparent, trace_id_of
from shared.lognoise import install_rate_limit, stop_rate_limit

trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)

HTTP_REQUESTS = Counter(
    "gonghui_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "gonghui_http_request_seconds", "HTTP request duration", ["service", "method", "route"]
)
HANDLER_OUTCOMES = Counter(
    "gonghui_handler_outcomes_total",
    "event handler outcomes (ok, duplicate, retry, dead_letter, skipped)",
    ["service", "handler", "outcome"],
)
HANDLER_WAITING = Gauge(
    "gonghui_handler_waiting",
    "1 while a handler waits for a channel that is down (SMTP, WeCom, SMS)",
    ["service", "handler"],
)
OUTBOX_BACKLOG = Gauge(
    "gonghui_outbox_backlog", "outbox events waiting to be published", ["service"]
)
OUTBOX_OLDEST_SECONDS = Gauge(
    "gonghui_outbox_oldest_seconds",
    "age of the oldest event waiting to be published (0 when none waits)",
    ["service"],
)
JOB_RUNS = Counter(
    "gonghui_job_runs_total",
    "scheduled job runs by outcome (ok, failed, skipped: another replica ran it)",
    ["service", "job", "outcome"],
)
OUTBOX_PUBLISHED = Counter("gonghui_outbox_published_total", "outbox events published", ["service"])
DEAD_LETTERS = Counter(
    "gonghui_dead_letters_total", "messages sent to a dead-letter topic", ["service", "topic"]
)
CONSUMER_LAG = Gauge(
    "gonghui_consumer_lag",
    "records behind the end of the partition",
    ["service", "topic", "partition"],
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if trace_id := trace_id_var.get():
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout. aiokafka's warnings and errors (a broker failing over, a leader
    moving) are worth seeing, but it repeats them on every reconnect: they pass through a rate
    limiter (shared/lognoise.py), except at DEBUG, which shows everything."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = level.upper()
    root.setLevel(level)
    if level == "DEBUG":
        logging.getLogger("aiokafka").setLevel(logging.DEBUG)
        stop_rate_limit()
        return
    aiokafka_level = max(logging.WARNING, logging.getLevelName(level))
    logging.getLogger("aiokafka").setLevel(aiokafka_level)
    install_rate_limit(handler, ("aiokafka",))


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


def current_traceparent() -> str:
    """A traceparent continuing the trace of the request or event being handled."""
    return new_traceparent(trace_id_var.get())


# Label values come from a fixed set, whatever a client sends: every distinct value is a new
# time series held in memory for good, so a scanner trying methods (or paths) by the
# thousand must not be able to grow them. Paths are route templates, or "unmatched".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def route_label(route: object) -> str:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


def install_request_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next):
        started = time.perf_counter()
        # Continue the caller's trace (or start one) so logs and emitted events share it.
        trace_id = (
            trace_id_of(request.headers.get("traceparent")) or new_traceparent().split("-")[1]
        )
        token = trace_id_var.set(trace_id)
        try:
            response = await call_next(request)
        finally:
            trace_id_var.reset(token)
        path = route_label(request.scope.get("route"))
        method = method_label(request.method)
        HTTP_REQUESTS.labels(service, method, path, response.status_code).inc()
        HTTP_SECONDS.labels(service, method, path).observe(time.perf_counter() - started)
        return response

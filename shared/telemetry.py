"""Trace ids, Prometheus metrics and JSON logs: what every part of a service reports through.

No web code here (the FastAPI side, health routes and request metrics, is
`shared.observability`), so the aggregate store, the outbox and the consumers can report
without importing a web framework.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from shared.envelope import new_traceparent
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


def current_traceparent() -> str:
    """A traceparent continuing the trace of the request or event being handled."""
    return new_traceparent(trace_id_var.get())

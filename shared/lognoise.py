"""Rate-limit a chatty library's logs: the first line of a kind, then one summary per window.

While a broker is down aiokafka logs every failed reconnect, metadata refresh and heartbeat:
about 5,000 ERROR lines in 45 s from two services in a cluster drill. That buries the lines
an operator needs, and the backlog itself is Gonghui's to report (the outbox relay does).
So for the libraries named here, a message *shape* (logger, level, format string with digits
masked, so node ids and ports do not make new shapes) is logged the first time; repeats in
the next `window_s` seconds are counted, and when the window ends one line at the same level
says how many there were:

    Unable connect to node with id 2: [Errno 111] … — repeated 312 times in 30 s（30 秒内重复 312 次）

The shape's next line after that starts a new window. DEBUG records always pass (at DEBUG
the operator asked for everything), and configure_logging installs no limiter at DEBUG.
Ended windows are summarised when the next limited line arrives or when `flush()` runs (a
daemon thread calls it a few times per window; at exit every pending count is flushed), so
the last window of an outage is reported too.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimitFilter", "install_rate_limit", "stop_rate_limit"]

SUMMARY = "gonghui_repeat_summary"  # attribute that marks a summary record: it always passes
_DIGITS = re.compile(r"\d+")


@dataclass
class _Window:
    started: float
    repeats: int = 0
    last: logging.LogRecord | None = None


class RateLimitFilter(logging.Filter):
    """A handler filter (a filter on a logger would not see its child loggers' records).

    `clock` is injectable so the tests run the windows without waiting; `emit` receives the
    summary records (install_rate_limit points it at the handler).
    """

    def __init__(
        self,
        loggers: tuple[str, ...] = ("aiokafka",),
        window_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        emit: Callable[[logging.LogRecord], object] | None = None,
    ) -> None:
        super().__init__()
        self.loggers = loggers
        self.window_s = window_s
        self.clock = clock
        self.emit = emit or (lambda record: None)
        self._windows: dict[tuple[str, int, str], _Window] = {}
        self._lock = threading.Lock()  # filter() on the loop thread, flush() on the timer's

    def _limited(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or getattr(record, SUMMARY, False):
            return False
        return any(record.name == n or record.name.startswith(f"{n}.") for n in self.loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._limited(record):
            return True
        shape = (record.name, record.levelno, _DIGITS.sub("#", str(record.msg)))
        with self._lock:
            now = self.clock()
            due = self._close(now)
            window = self._windows.get(shape)
            if window is None:
                self._windows[shape] = _Window(now)
            else:
                window.repeats += 1
                window.last = record
        for summary in due:  # before this record: an ended window's count comes first
            self.emit(summary)
        return window is None

    def flush(self, everything: bool = False) -> None:
        """Emit the summaries of windows that have ended (of all windows with everything=True,
        at shutdown)."""
        with self._lock:
            due = self._close(self.clock(), everything)
        for summary in due:
            self.emit(summary)

    def _close(self, now: float, everything: bool = False) -> list[logging.LogRecord]:
        ended = [
            shape
            for shape, window in self._windows.items()
            if everything or now - window.started >= self.window_s
        ]
        return [
            self._summary(window, min(self.window_s, now - window.started))
            for window in (self._windows.pop(shape) for shape in ended)
            if window.repeats and window.last is not None
        ]

    def _summary(self, window: _Window, span_s: float) -> logging.LogRecord:
        """The last repeat's text, its count and the time they came in (the whole window,
        or less when flushed early at shutdown)."""
        last = window.last
        assert last is not None
        record = logging.makeLogRecord(last.__dict__)
        seconds = f"{span_s:.0f}"
        record.msg = "%s — repeated %d times in %s s（%s 秒内重复 %d 次）"
        record.args = (last.getMessage(), window.repeats, seconds, seconds, window.repeats)
        record.exc_info = record.exc_text = record.stack_info = None
        record.created = time.time()
        setattr(record, SUMMARY, True)
        return record


class _Ticker:
    """Flushes ended windows while the process runs, and everything at exit."""

    def __init__(self, limiter: RateLimitFilter, every_s: float) -> None:
        self.limiter = limiter
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, args=(every_s,), name="gonghui-log-summaries", daemon=True
        )
        self.thread.start()

    def _run(self, every_s: float) -> None:
        while not self.stopped.wait(every_s):
            self.limiter.flush()

    def stop(self) -> None:
        self.stopped.set()
        self.limiter.flush(everything=True)


_ticker: _Ticker | None = None


def install_rate_limit(
    handler: logging.Handler, loggers: tuple[str, ...] = ("aiokafka",), window_s: float = 30.0
) -> RateLimitFilter:
    """Put a RateLimitFilter on `handler` and keep flushing it; replaces an earlier one
    (configure_logging may run more than once in a process)."""
    global _ticker
    stop_rate_limit()
    limiter = RateLimitFilter(loggers, window_s, emit=handler.handle)
    handler.addFilter(limiter)
    _ticker = _Ticker(limiter, min(5.0, window_s / 6))
    return limiter


def stop_rate_limit() -> None:
    """Flush every pending summary and stop flushing (at exit, or when logging is
    reconfigured without a limiter)."""
    global _ticker
    if _ticker is not None:
        _ticker.stop()
        _ticker = None


atexit.register(stop_rate_limit)

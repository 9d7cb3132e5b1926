"""The rate limiter for library log noise (shared/lognoise.py), on a fake clock, no I/O."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.lognoise import RateLimitFilter, stop_rate_limit
from shared.observability import configure_logging


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(
    msg: str, *args: object, name: str = "aiokafka", level: int = logging.ERROR
) -> logging.LogRecord:
    return logging.LogRecord(name, level, "client.py", 1, msg, args, None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def summaries() -> list[logging.LogRecord]:
    return []


@pytest.fixture
def limiter(clock, summaries) -> RateLimitFilter:
    return RateLimitFilter(("aiokafka",), window_s=30, clock=clock, emit=summaries.append)


def test_first_line_passes_repeats_are_counted_and_summarised_once_per_window(
    limiter, clock, summaries
):
    reconnect = 'Unable connect to "%s:%s": %s'
    assert limiter.filter(record(reconnect, "127.0.0.1", 39201, "refused"))
    for second in range(1, 27):  # 12 a second for 26 s: 312 repeats
        clock.now += 1
        for _ in range(12):
            assert not limiter.filter(record(reconnect, "127.0.0.1", 39201 + second, "refused"))
    clock.now += 3.9  # 29.9 s after the first line
    limiter.flush()
    assert summaries == []  # the window has not ended yet

    clock.now += 0.2
    limiter.flush()

    [summary] = summaries
    assert summary.levelno == logging.ERROR and summary.name == "aiokafka"
    assert summary.getMessage() == (
        'Unable connect to "127.0.0.1:39227": refused — repeated 312 times in 30 s'
        "（30 秒内重复 312 次）"
    )
    limiter.flush()
    assert len(summaries) == 1  # once per window


def test_after_a_window_the_next_line_is_logged_again_after_the_summary(limiter, clock, summaries):
    failed = "Failed fetch messages from %s: %s"
    assert limiter.filter(record(failed, 1, "NodeNotReady", name="aiokafka.consumer.fetcher"))
    assert not limiter.filter(record(failed, 2, "NodeNotReady", name="aiokafka.consumer.fetcher"))
    clock.now += 31

    assert limiter.filter(record(failed, 3, "NodeNotReady", name="aiokafka.consumer.fetcher"))
    assert [s.getMessage() for s in summaries] == [
        "Failed fetch messages from 2: NodeNotReady — repeated 1 times in 30 s（30 秒内重复 1 次）"
    ]
    assert not limiter.filter(record(failed, 4, "NodeNotReady", name="aiokafka.consumer.fetcher"))


def test_shapes_are_logger_level_and_format_with_digits_masked(limiter):
    assert limiter.filter(record("Heartbeat failed: %r", "x"))
    assert limiter.filter(record("Heartbeat failed: %r", "x", level=logging.WARNING))
    assert limiter.filter(record("Heartbeat failed: %r", "x", name="aiokafka.consumer"))
    assert limiter.filter(record("Group Coordinator Request failed: %s", "x"))
    # Pre-formatted messages differing only in numbers are one shape.
    assert limiter.filter(record("Unable to update metadata from [1, 2]"))
    assert not limiter.filter(record("Unable to update metadata from [2, 3]"))


def test_a_line_that_never_repeats_gets_no_summary(limiter, clock, summaries):
    assert limiter.filter(record("Topic %s not found in cluster metadata", "members.member"))
    clock.now += 60
    limiter.flush()
    assert summaries == []


def test_other_loggers_and_debug_records_always_pass(limiter):
    for _ in range(3):
        assert limiter.filter(record("outbox backlog stalled: %d events", 5, name="shared.outbox"))
        assert limiter.filter(record("produce to %s", "m", level=logging.DEBUG))
        assert limiter.filter(record("look-alike", name="aiokafkax"))


def test_at_shutdown_the_open_windows_are_summarised(limiter, clock, summaries):
    limiter.filter(record("Heartbeat failed: %r", "a"))
    limiter.filter(record("Heartbeat failed: %r", "b"))
    limiter.filter(record("Heartbeat failed: %r", "c"))
    clock.now += 12
    limiter.flush()
    assert summaries == []  # the window is still open
    limiter.flush(everything=True)
    assert [s.getMessage().split(" — ")[1] for s in summaries] == [
        "repeated 2 times in 12 s（12 秒内重复 2 次）"
    ]


# --- configure_logging: where the limiter is and is not --------------------------------------


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("aiokafka").level)
    yield
    stop_rate_limit()
    root.handlers[:], level, aiokafka_level = saved
    root.setLevel(level)
    logging.getLogger("aiokafka").setLevel(aiokafka_level)


def lines_logged(level: str, count: int) -> list[dict]:
    configure_logging("members", level)
    out = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    log = logging.getLogger("aiokafka.client")
    for node in range(count):
        log.error("Unable connect to node with id %s: %s", node, "refused")
    log.warning("Got error produce response on topic-partition %s, retrying", "members.member-0")
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_services_log_the_first_reconnect_error_and_warnings_once(restore_logging):
    lines = lines_logged("INFO", 50)
    assert [(entry["level"], entry["msg"]) for entry in lines] == [
        ("ERROR", "Unable connect to node with id 0: refused"),
        ("WARNING", "Got error produce response on topic-partition members.member-0, retrying"),
    ]
    stop_rate_limit()  # what happens at exit: the count is not lost
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    last = json.loads(handler.stream.getvalue().splitlines()[-1])
    assert last["level"] == "ERROR" and "repeated 49 times in " in last["msg"]


def test_at_debug_every_line_is_logged(restore_logging):
    lines = lines_logged("DEBUG", 50)
    assert len([entry for entry in lines if entry["level"] == "ERROR"]) == 50

"""The loop every polling worker shares (shared/polling.py): no I/O, a scripted round."""

from __future__ import annotations

import asyncio
import logging

import pytest

from shared.polling import PollingWorker


class Scripted(PollingWorker):
    name = "scripted"

    def __init__(self, rounds: list[int | Exception], poll_s: float, full: int | None) -> None:
        super().__init__(poll_s, full, grace_s=0.2)
        self.rounds = rounds
        self.ran = 0
        self.finished = asyncio.Event()

    async def run_once(self) -> int:
        self.ran += 1
        if not self.rounds:
            self.finished.set()
            return 0
        step = self.rounds.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


async def test_full_rounds_go_again_at_once_and_a_short_one_waits():
    worker = Scripted([5, 5, 5, 2], poll_s=60, full=5)
    worker.start()
    await asyncio.sleep(0.05)
    # three full rounds and the short one ran without a pause; the fifth waits for the poll
    assert worker.ran == 4 and not worker.finished.is_set()
    await worker.stop()
    assert worker._task is not None and worker._task.done()


async def test_without_full_every_round_waits():
    worker = Scripted([50, 50], poll_s=60, full=None)
    worker.start()
    await asyncio.sleep(0.05)
    assert worker.ran == 1
    await worker.stop()


async def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture):
    worker = Scripted([RuntimeError("boom"), 0], poll_s=0.01, full=1)
    with caplog.at_level(logging.ERROR, logger="shared.polling"):
        worker.start()
        await asyncio.wait_for(worker.finished.wait(), 2)
        await worker.stop()
    assert worker.ran >= 3
    assert any("scripted: a round failed" in r.getMessage() for r in caplog.records)


async def test_stop_cancels_a_round_that_outlasts_the_grace():
    class Stuck(PollingWorker):
        async def run_once(self) -> int:
            await asyncio.sleep(3600)
            return 0

    worker = Stuck(poll_s=1, grace_s=0.05)
    worker.start()
    await asyncio.sleep(0)
    await asyncio.wait_for(worker.stop(), 2)
    await asyncio.sleep(0)
    assert worker._task is not None and worker._task.cancelled()


async def test_a_round_sees_the_stop_and_can_end_early():
    seen: list[bool] = []

    class Polite(PollingWorker):
        async def run_once(self) -> int:
            await self._stop.wait()  # a long round that checks `stopping` as it goes
            seen.append(self.stopping)
            return 0

    worker = Polite(poll_s=1)
    worker.start()
    await asyncio.sleep(0.02)
    await asyncio.wait_for(worker.stop(), 2)
    assert seen == [True]

"""A background round repeated until the service stops: the loop every polling worker shares.

A service's own workers (notify's deliveries, announcement fan-out and webhook posts) each
do one round at a time over what the database says is due; this class runs those rounds.
It is a `shared.runtime.Worker`, started and stopped by `runtime.run_worker`.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod

log = logging.getLogger(__name__)


class PollingWorker(ABC):
    """`run_once` does one round and says how much it did. A round that did `full` or more goes
    again at once (more is likely waiting); anything less waits `poll_s`, or until stopped.

    A round that raises is logged and tried again after the pause: the loop ends only with the
    service. Stopping lets the round in progress finish (`stopping` tells it to end early) for
    up to `grace_s`, then cancels it.
    """

    name = "worker"  # the task's name, and the log's word for a round that failed

    def __init__(self, poll_s: float, full: int | None = None, grace_s: float = 30.0) -> None:
        self.poll_s = poll_s
        self.full = full  # None: every round waits
        self.grace_s = grace_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> int:
        """One round; how much it did."""

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.gather(self._task, return_exceptions=True), self.grace_s)
        except TimeoutError:
            self._task.cancel()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            done = 0
            try:
                done = await self.run_once()
            except Exception:
                log.exception("%s: a round failed", self.name)
            if self.full is not None and done >= self.full:
                continue
            try:
                await asyncio.wait_for(self._stop.wait(), self.poll_s)
            except TimeoutError:
                pass

"""The relay loop's scheduling, without I/O: a write during a drain is never left for the poll."""

import asyncio

from shared.outbox import OutboxRelay


class ScriptedRelay(OutboxRelay):
    """Its drain does no I/O; the first one sees a write land half-way through."""

    def __init__(self) -> None:
        super().__init__(
            service="t", db=None, collections=[], producer_factory=None, topic_name=str, poll_s=3600
        )
        self.drains = 0
        self.second_drain = asyncio.Event()

    async def _ensure_producer(self):
        return None

    async def drain(self) -> int:
        self.drains += 1
        if self.drains == 1:
            await asyncio.sleep(0)
            self.wake()  # a request committed a new event while we were publishing
        elif self.drains == 2:
            self.second_drain.set()
        return 0


async def test_a_write_during_a_drain_triggers_another_drain_at_once():
    relay = ScriptedRelay()
    relay.start()
    try:
        await asyncio.wait_for(relay.second_drain.wait(), 2)  # not the hour-long poll
    finally:
        await relay.stop()

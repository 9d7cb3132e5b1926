"""The relay's scheduling, without I/O: order per key, independence across keys, wake-ups.

The producer is a stand-in that acknowledges or fails each send the way aiokafka's futures
do; the database parts (sweep, marker deletion) are replaced by recorders.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka.errors import KafkaTimeoutError

from shared.envelope import CloudEvent
from shared.outbox.relay import OutboxRelay
from shared.outbox.writer import Pending


class ScriptedProducer:
    """Acknowledges every send at once, except for keys it is told are on a dead leader."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.sent: list[str] = []  # event ids, in acknowledgement order

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, topic, value, key, headers):
        future = asyncio.get_running_loop().create_future()
        if key.decode() in self.failing:
            future.set_exception(KafkaTimeoutError())
        else:
            self.sent.append(CloudEvent.from_json_bytes(value).id)
            future.set_result(None)
        return future


class RelayWithoutDb(OutboxRelay):
    def __init__(self, producer: ScriptedProducer, **kwargs) -> None:
        super().__init__(
            service="t",
            db={"outbox_pending": None},  # type: ignore[arg-type]
            producer_factory=lambda: producer,
            topic_name=str,
            **{"poll_s": 3600, **kwargs},
        )
        self.deleted: list[str] = []

    async def sweep(self, grace_s=None, limit=1000):
        return 0

    async def _flush_done(self) -> None:
        done, self._done = self._done, []
        self.deleted.extend(done)
        self._known.difference_update(done)


def pending(key: str, n: int) -> Pending:
    event = CloudEvent(
        id=f"{key}{n}", source="gonghui/t", type="members.member.joined.v1", subject=key, campus="c"
    )
    return Pending(
        marker=f"marker-{key}{n}", collection="c", doc_id=f"{key}#{n}", key=key, events=[event]
    )


async def until(predicate, timeout_s: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():  # noqa: ASYNC110 - a plain predicate over the relay's state
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


async def test_a_dead_partition_holds_back_only_its_keys_and_order_per_key_is_kept():
    producer = ScriptedProducer()
    producer.failing = {"a"}  # a's partition leader is down
    relay = RelayWithoutDb(producer)
    relay.start()
    try:
        for p in (pending("a", 1), pending("b", 1), pending("a", 2), pending("b", 2)):
            relay.enqueue(p)
        await until(lambda: producer.sent == ["b1", "b2"])  # b flows while a waits
        assert relay.deleted == ["marker-b1", "marker-b2"]
        assert relay.pending_events() == 2
        producer.failing.clear()  # the leader is back
        await until(lambda: len(relay.deleted) == 4)  # published, and their markers gone
        assert producer.sent == ["b1", "b2", "a1", "a2"]  # a's second write never overtook
        assert relay.deleted[2:] == ["marker-a1", "marker-a2"]
    finally:
        await relay.stop()


async def test_a_write_goes_out_at_once_not_at_the_next_poll():
    producer = ScriptedProducer()
    relay = RelayWithoutDb(producer)  # an hour between polls
    relay.start()
    try:
        relay.enqueue(pending("m", 1))
        await until(lambda: producer.sent == ["m1"])
        relay.enqueue(pending("m", 2))
        await until(lambda: producer.sent == ["m1", "m2"])
    finally:
        await relay.stop()


async def test_a_stall_is_said_once_and_the_recovery_once(caplog):
    producer = ScriptedProducer()
    producer.failing = {"k"}
    relay = RelayWithoutDb(producer, stall_after_s=0.05)
    caplog.set_level(logging.INFO, logger="shared.outbox")
    relay.start()
    try:
        relay.enqueue(pending("k", 1))
        await until(lambda: any("stalled" in r.message for r in caplog.records))
        await asyncio.sleep(0.6)  # more retries fail meanwhile
        producer.failing.clear()
        await until(lambda: any("recovered" in r.message for r in caplog.records))
    finally:
        await relay.stop()
    said = [r.message for r in caplog.records if r.name == "shared.outbox"]
    assert sum("stalled" in m for m in said) == 1
    assert sum("recovered" in m for m in said) == 1


async def test_drain_raises_when_a_key_cannot_be_published_and_keeps_it():
    producer = ScriptedProducer()
    producer.failing = {"x"}
    relay = RelayWithoutDb(producer)
    relay.enqueue(pending("x", 1))
    relay.enqueue(pending("y", 1))
    try:
        await relay.drain()
    except Exception as exc:
        assert "could not be published" in str(exc)
    else:
        raise AssertionError("drain() hid a failure")
    assert producer.sent == ["y1"] and relay.pending_events() == 1
    await relay.stop(flush_timeout_s=0.5)

"""The last records of one key on a topic: read backwards from the end of the key's partition.

What a service publishes leaves the database it was written in: a record on Kafka cannot be
changed by someone who can change the database. So the last record a key published is an
anchor outside the database for what the database should still hold (the welfare ledger's
check compares its last entry with it).

Records of one key are in one partition (the producer's default partitioner, murmur2 of the
key, as the outbox relay sends them) and in the order they were published, so the first
record of the key met reading backwards is its last. The partition is read a window at a
time from its end; a topic's retention bounds how far back there is anything to find.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from shared.topics import partitions_of


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The partition a record with `key` goes to (the Java client's and aiokafka's rule)."""
    return int(DefaultPartitioner()(key, sorted(partitions), None))


class Partitions:
    """Each topic's partitions, asked of the broker (an admin client) once per topic and kept
    for as long as this object lives: a service keeps one for its lifetime.

    Safe to keep because Kafka only ever adds partitions to a topic, never takes one away.
    A count kept from before partitions were added names the partition the key's records
    went to until then: they are still there, in order, so a scan finds an earlier record of
    the key than the last (the ledger check takes that for a relay behind, never for a
    rewrite) until the service restarts. A topic that is not there yet is not kept."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._counts: dict[str, int] = {}

    async def of(self, topic: str) -> list[int]:
        count = self._counts.get(topic)
        if count is None:
            count = len(await partitions_of(self.bootstrap, topic))
            if count:
                self._counts[topic] = count
        return list(range(count))


async def scan_back(
    bootstrap: str,
    topic: str,
    key: str,
    visit: Callable[[bytes], bool],
    *,
    partitions: Partitions | None = None,
    window: int = 500,
    limit: int = 50_000,
    timeout_s: float = 20.0,
) -> None:
    """Hand `visit` the values of `key`'s records, the last first, until it answers True,
    the partition's beginning (retention) or `limit` records read. Raises on Kafka errors
    and timeouts: an anchor that could not be read is not an anchor that was not there.
    `partitions`: the topic's partitions as kept by the caller (None: asked now)."""
    numbers = await (partitions or Partitions(bootstrap)).of(topic)
    if not numbers:
        return
    wanted = key.encode()
    tp = TopicPartition(topic, partition_of(wanted, numbers))
    # A consumer of its own per scan (about 10 ms to start): one shared by concurrent checks
    # would need a lock, a fresh start after any error or timeout left it mid-fetch, and a
    # stop when the service stops, which a ledger's anchor has no hook for.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            consumer.assign([tp])
            # Paused except while a window is read: an assigned partition is fetched in the
            # background from its end, a fetch that waits up to `fetch_max_wait_ms` (500 ms)
            # for new records, and a seek must wait for it: half a second of every scan.
            consumer.pause(tp)
            begin = (await consumer.beginning_offsets([tp]))[tp]
            high = (await consumer.end_offsets([tp]))[tp]
            floor = max(begin, high - limit)
            while high > floor:
                low = max(floor, high - window)
                consumer.seek(tp, low)
                consumer.resume(tp)
                values: list[bytes] = []
                while await consumer.position(tp) < high:
                    batch = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                    values.extend(
                        r.value
                        for r in batch
                        if r.offset < high and r.key == wanted and r.value is not None
                    )
                consumer.pause(tp)
                if any(visit(value) for value in reversed(values)):
                    return
                high = low
    finally:
        await consumer.stop()

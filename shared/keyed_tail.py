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


async def scan_back(
    bootstrap: str,
    topic: str,
    key: str,
    visit: Callable[[bytes], bool],
    *,
    window: int = 500,
    limit: int = 50_000,
    timeout_s: float = 20.0,
) -> None:
    """Hand `visit` the values of `key`'s records, the last first, until it answers True,
    the partition's beginning (retention) or `limit` records read. Raises on Kafka errors
    and timeouts: an anchor that could not be read is not an anchor that was not there."""
    tps = await partitions_of(bootstrap, topic)
    if not tps:
        return
    wanted = key.encode()
    tp = TopicPartition(topic, partition_of(wanted, [t.partition for t in tps]))
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            consumer.assign([tp])
            begin = (await consumer.beginning_offsets([tp]))[tp]
            high = (await consumer.end_offsets([tp]))[tp]
            floor = max(begin, high - limit)
            while high > floor:
                low = max(floor, high - window)
                consumer.seek(tp, low)
                values: list[bytes] = []
                while await consumer.position(tp) < high:
                    batch = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                    values.extend(
                        r.value
                        for r in batch
                        if r.offset < high and r.key == wanted and r.value is not None
                    )
                if any(visit(value) for value in reversed(values)):
                    return
                high = low
    finally:
        await consumer.stop()

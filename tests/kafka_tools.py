"""Test helpers that look at Kafka from outside the services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer

from shared.topics import partitions_of


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], timeout_s: float = 30, what: str = "condition"
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.1)


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """True when the consumer group has committed up to the end of every partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = await partitions_of(bootstrap, topic)
        if not tps:
            return False
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            if (await consumer.committed(tp) or 0) < ends[tp]:
                return False
        return True
    finally:
        await consumer.stop()


async def wait_caught_up(bootstrap: str, group: str, topic: str, timeout_s: float = 30) -> None:
    await wait_until(
        lambda: group_caught_up(bootstrap, group, topic), timeout_s, f"{group} to consume {topic}"
    )


async def read_all(bootstrap: str, topic: str, timeout_ms: int = 3000) -> list:
    """Every record on the topic from the beginning (no group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records = []
        while batch := await consumer.getmany(timeout_ms=timeout_ms):
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()

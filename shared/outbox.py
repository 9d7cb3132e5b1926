"""Transactional outbox that rides inside the aggregate's own document.

FerretDB (and MongoDB without a replica set) has no multi-document transactions, so the
events a change causes are pushed into an `outbox` array of the very document the change
writes: one atomic single-document write. The relay publishes them in order and then removes
exactly what it published with `$pullAll` (both MongoDB and FerretDB support it; FerretDB 1.x
ignores `$pull` with a condition). A crash between publish and removal only re-publishes;
consumers are idempotent, so nothing is lost and nothing happens twice.

The rule that keeps this safe on FerretDB 1.x (whose updates are read-modify-write, not atomic
against each other; see `shared/claims.py`): events ride only in *inserts*. After its insert a
document that carries events is written by the relay alone, so the relay's `$pullAll` can
never race a domain write and drop an event. A later change to an aggregate is itself an
inserted record (a change, a ledger entry, a registration, a claim) carrying its own events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo.asynchronous.database import AsyncDatabase

from shared.envelope import CONTENT_TYPE, CloudEvent, topic_of
from shared.observability import OUTBOX_BACKLOG, OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

OUTBOX = "outbox"
PENDING = {f"{OUTBOX}.0": {"$exists": True}}


def new_with_outbox(doc: dict[str, Any], events: Iterable[CloudEvent]) -> dict[str, Any]:
    """A new document carrying the events its creation causes."""
    return {**doc, OUTBOX: [e.to_outbox() for e in events]}


class OutboxRelay:
    """Publishes pending outbox events of the given collections to Kafka."""

    def __init__(
        self,
        *,
        service: str,
        db: AsyncDatabase,
        collections: Sequence[str],
        producer_factory: Callable[[], AIOKafkaProducer],
        topic_name: Callable[[str], str],
        poll_s: float = 1.0,
        batch: int = 200,
    ) -> None:
        self.service = service
        self.db = db
        self.collections = list(collections)
        self.producer_factory = producer_factory
        self.topic_name = topic_name
        self.poll_s = poll_s
        self.batch = batch
        self.producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Called after a write with events, so they go out now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self, flush_timeout_s: float = 10.0) -> None:
        """Stop polling, publish what is still pending (bounded), close the producer."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            # drain() connects if the loop never did: what was written is sent before exit.
            await asyncio.wait_for(self.drain(), flush_timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("outbox not fully flushed at shutdown (sent at next start): %r", exc)
        finally:
            if self.producer is not None:
                await self.producer.stop()
                self.producer = None

    async def _run(self) -> None:
        retry_s = 0.5
        while not self._stopping:
            # Clear before draining: a write that lands during the drain sets it again, so
            # its events go out in the next round instead of waiting for the poll.
            self._wake.clear()
            wait_s = self.poll_s
            try:
                await self._ensure_producer()
                await self.drain()
                retry_s = 0.5
            except (KafkaError, OSError) as exc:
                # Kafka is down: requests keep succeeding, events wait in the outbox.
                log.warning("outbox relay cannot publish yet: %s", exc)
                wait_s, retry_s = retry_s, min(retry_s * 2, 10.0)
            except Exception:
                log.exception("outbox relay failed; retrying")
                wait_s, retry_s = retry_s, min(retry_s * 2, 10.0)
            try:
                await asyncio.wait_for(self._wake.wait(), wait_s)
            except TimeoutError:
                pass

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self.producer = producer
        return self.producer

    async def drain(self) -> int:
        """Publish every pending event once; returns how many were published."""
        producer = await self._ensure_producer()
        published = 0
        for name in self.collections:
            coll = self.db[name]
            while True:
                docs = await coll.find(PENDING, {OUTBOX: 1}).limit(self.batch).to_list()
                if not docs:
                    break
                OUTBOX_BACKLOG.labels(self.service).set(sum(len(d[OUTBOX]) for d in docs))
                # Send everything first (the idempotent producer keeps per-key order), then
                # wait for all acknowledgements, then remove exactly what was acknowledged.
                sends = []
                for doc in docs:
                    for raw in doc[OUTBOX]:
                        event = CloudEvent.model_validate(raw)
                        sends.append(
                            await producer.send(
                                self.topic_name(topic_of(event.type)),
                                event.to_json_bytes(),
                                key=event.subject.encode(),
                                headers=[("content-type", CONTENT_TYPE.encode())],
                            )
                        )
                await asyncio.gather(*sends)
                # One round trip for the batch: `$pullAll` removes from each document only the
                # listed values it holds, so the union of the batch is exact for every document.
                sent = [event for doc in docs for event in doc[OUTBOX]]
                await coll.update_many(
                    {"_id": {"$in": [doc["_id"] for doc in docs]}}, {"$pullAll": {OUTBOX: sent}}
                )
                published += len(sent)
                OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        OUTBOX_BACKLOG.labels(self.service).set(0)
        return published

    async def backlog(self) -> int:
        total = 0
        for name in self.collections:
            async for doc in self.db[name].find(PENDING, {OUTBOX: 1}):
                total += len(doc[OUTBOX])
        return total

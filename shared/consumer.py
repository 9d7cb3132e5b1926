"""Idempotent Kafka consumer: route by event type, retry with backoff, dead-letter, commit.

Offsets are committed only after every message of a batch was handled or dead-lettered, so
a crash re-delivers; each handler's processed event ids are kept under a unique `_id`, so a
re-delivery changes nothing. A message that keeps failing goes to `<topic>.dlq` with the
error in its headers and is never acknowledged silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.dlq import dead_letter_headers
from shared.envelope import CloudEvent, trace_id_of
from shared.events import IntegrationEvent, parse
from shared.observability import CONSUMER_LAG, DEAD_LETTERS, HANDLER_OUTCOMES, trace_id_var

log = logging.getLogger(__name__)

Handler = Callable[[IntegrationEvent, CloudEvent], Awaitable[None]]
# One explicit table: event model -> the handlers that react to it.
Routes = Mapping[type[IntegrationEvent], Sequence[Handler]]

PROCESSED = "processed_events"


class PoisonMessage(Exception):
    """The record is not a valid Gonghui event; retrying cannot help."""


def handler_name(handler: Handler) -> str:
    """Stable across restarts: it is part of the processed-event marker."""
    return getattr(handler, "__qualname__", None) or repr(handler)


def bind(handler: Callable[..., Awaitable[None]], *deps: object) -> Handler:
    """Give a handler its adapters (stores, mailers) while keeping its stable name."""

    async def bound(event: IntegrationEvent, envelope: CloudEvent) -> None:
        await handler(event, envelope, *deps)

    bound.__qualname__ = handler.__qualname__
    return bound


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        db: AsyncDatabase,
        bootstrap: str,
        group_id: str,
        topic_name: Callable[[str], str],
        producer_factory: Callable[[], AIOKafkaProducer],
        max_attempts: int = 5,
        backoff_ms: int = 200,
    ) -> None:
        self.service = service
        self.db = db
        self.routes: dict[str, list[Handler]] = {}
        self.topic_name = topic_name
        self.topics: list[str] = []
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.producer_factory = producer_factory
        self.max_attempts = max_attempts
        self.backoff_ms = backoff_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.assigned = asyncio.Event()  # set once the group gave this consumer partitions

    def subscribe(self, routes: Routes) -> None:
        for model, handlers in routes.items():
            self.routes.setdefault(model.type, []).extend(handlers)
            self.topics = sorted({*self.topics, self.topic_name(model.topic)})

    async def ensure_indexes(self) -> None:
        # `_id` is "<handler>:<event id>": unique by construction, no extra index needed.
        await self.db[PROCESSED].create_index("processed_at")

    def start(self) -> None:
        if self.topics:
            self._task = asyncio.create_task(self._run(), name=f"consumer-{self.service}")

    async def stop(self) -> None:
        """Finish the batch in hand, commit its offsets, leave the group."""
        self._stopping = True
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.5
        while not self._stopping:
            consumer = AIOKafkaConsumer(
                *self.topics,
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                client_id=f"gonghui-{self.service}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=100,
            )
            try:
                await consumer.start()
                self._consumer = consumer
                delay = 0.5
                await self._loop(consumer)
            except (KafkaError, OSError) as exc:
                log.warning("consumer cannot reach Kafka yet: %s", exc)
            except Exception:
                log.exception("consumer loop failed; restarting")
            finally:
                self._consumer = None
                await consumer.stop()
            if not self._stopping:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        if self._dlq_producer:
            await self._dlq_producer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stopping:
            batches = await consumer.getmany(timeout_ms=500)
            if consumer.assignment():
                self.assigned.set()
            for tp, records in batches.items():
                for record in records:
                    await self._handle_record(record)
                # Commit only what was handled (or dead-lettered): at-least-once, never lost.
                await consumer.commit({tp: records[-1].offset + 1})
            await self._report_lag(consumer)

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is not None:
                lag = max(end - await consumer.position(tp), 0)
                CONSUMER_LAG.labels(self.service, tp.topic, tp.partition).set(lag)

    async def _handle_record(self, record: ConsumerRecord) -> None:
        try:
            event = CloudEvent.from_json_bytes(record.value)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(record, "envelope", PoisonMessage(str(exc)), attempts=1)
            return
        token = trace_id_var.set(trace_id_of(event.traceparent))
        try:
            for handler in self.routes.get(event.type, []):
                await self._run_handler(handler, event, record)
        finally:
            trace_id_var.reset(token)

    async def _run_handler(
        self, handler: Handler, event: CloudEvent, record: ConsumerRecord
    ) -> None:
        name = handler_name(handler)
        marker = f"{name}:{event.id}"
        if await self.db[PROCESSED].find_one({"_id": marker}, {"_id": 1}):
            HANDLER_OUTCOMES.labels(self.service, name, "duplicate").inc()
            return
        try:
            payload = parse(event)
        except ValidationError as exc:
            await self._dead_letter(record, name, PoisonMessage(str(exc)), attempts=1)
            return
        assert payload is not None  # routes only hold registered types
        for attempt in range(1, self.max_attempts + 1):
            try:
                await handler(payload, event)
                break
            except Exception as exc:
                if attempt == self.max_attempts:
                    log.error("handler %s failed %d times on %s: %s", name, attempt, event.id, exc)
                    await self._dead_letter(record, name, exc, attempts=attempt)
                    return
                HANDLER_OUTCOMES.labels(self.service, name, "retry").inc()
                log.warning("handler %s failed on %s (try %d): %s", name, event.id, attempt, exc)
                await asyncio.sleep(self.backoff_ms / 1000 * 2 ** (attempt - 1))
        try:
            processed_at = datetime.now(UTC)
            await self.db[PROCESSED].insert_one({"_id": marker, "processed_at": processed_at})
        except DuplicateKeyError:
            pass  # a parallel delivery finished first; the handler is idempotent anyway
        HANDLER_OUTCOMES.labels(self.service, name, "ok").inc()

    async def _dead_letter(
        self, record: ConsumerRecord, handler: str, exc: BaseException, *, attempts: int
    ) -> None:
        if self._dlq_producer is None:
            self._dlq_producer = self.producer_factory()
            await self._dlq_producer.start()
        headers = dead_letter_headers(record, self.group_id, handler, exc, attempts)
        dlq = f"{record.topic}.dlq"
        # If the dead-letter send itself fails, the exception stops the batch before its
        # commit, so the record is delivered again rather than dropped.
        await self._dlq_producer.send_and_wait(dlq, record.value, key=record.key, headers=headers)
        DEAD_LETTERS.labels(self.service, dlq).inc()
        HANDLER_OUTCOMES.labels(self.service, handler, "dead_letter").inc()
        log.error("sent %s:%d@%d to %s", record.topic, record.partition, record.offset, dlq)

    async def check_kafka(self) -> None:
        if self.topics and self._consumer is None:
            raise ConnectionError("consumer not connected")


__all__ = ["EventConsumer", "Handler", "PoisonMessage", "Routes", "bind"]

"""Idempotent Kafka consumer: route by event type, retry, dead-letter, commit — per partition.

Each partition assigned to this consumer is worked by its own task while Kafka keeps it
paused, so one partition waiting out a retry backoff (or a channel outage) never stalls the
others. Offsets are committed only after every record of a batch was handled or
dead-lettered, so a crash re-delivers; a handler's processed event ids are kept under a
unique `_id` (`<module.handler>:<event id>`), so a re-delivery changes nothing. A record
that keeps failing goes to `<topic>.dlq` with the error in its headers and is never
acknowledged silently. A handler that raises `RetryLater` (SMTP down, WeCom unreachable)
waits and tries again for as long as it takes: an outage delays messages, it does not
dead-letter them, and `gonghui_handler_waiting` shows the wait in /metrics.

On a rebalance, the revoke callback waits for the tasks of the revoked partitions (they
commit what they handled) before Kafka hands those partitions to another consumer: with
keys = aggregate ids, one aggregate's events are handled by one consumer at a time, in
order. The service's own view projections rely on that (see `shared.aggregate`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.dlq import dead_letter_headers
from shared.envelope import CloudEvent, topic_of, trace_id_of
from shared.events import REGISTRY, parse
from shared.routing import Route, Routes, RouteTable, route_table
from shared.telemetry import (
    CONSUMER_LAG,
    DEAD_LETTERS,
    HANDLER_OUTCOMES,
    HANDLER_WAITING,
    trace_id_var,
)

log = logging.getLogger(__name__)

PROCESSED = "processed_events"


class PoisonMessage(Exception):
    """The record is not a valid Gonghui event; retrying cannot help."""


class RetryLater(Exception):
    """A channel this handler needs is down (SMTP, WeCom, SMS): wait, then try again.

    Unlike other errors it does not count toward the attempts that lead to the dead-letter
    topic: every message would fail the same way until the channel is back.
    """

    def __init__(self, reason: str, after_s: float | None = None) -> None:
        super().__init__(reason)
        self.after_s = after_s


class _Stopping(Exception):
    """Stop or revoke while a handler waits: leave the record for the next owner."""


def tombstone_envelope(topic: str, record: ConsumerRecord) -> CloudEvent:
    """A tombstone (key, no value) as the event its topic declares for it."""
    model = next((m for m in REGISTRY.values() if m.topic == topic and m.tombstone), None)
    if model is None or record.key is None:
        raise ValueError(f"a record without a value on {topic}, which has no tombstones")
    subject = record.key.decode()
    return CloudEvent(
        id=f"{record.topic}:{record.partition}:{record.offset}",
        source="kafka",
        type=model.type,
        subject=subject,
        campus="*",
        data={model.subject_field or "id": subject},
    )


class _Partition:
    """One partition's batch in hand: where it got to, and a signal to leave it."""

    def __init__(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self.consumer = consumer
        self.tp = tp
        self.handled: int | None = None  # offset of the last record handled or dead-lettered
        self.leave = asyncio.Event()  # set on stop or revoke: a waiting handler gives up

    async def commit(self) -> None:
        if self.handled is None:
            return
        try:
            await self.consumer.commit({self.tp: self.handled + 1})
        except KafkaError as exc:
            # The group moved on (or Kafka is gone): the next owner re-delivers from the
            # last commit, and the handlers' markers make that harmless.
            log.warning("could not commit %s@%d: %s", self.tp, self.handled + 1, exc)

    async def pause(self, seconds: float) -> None:
        """Sleep, unless told to leave: then the record stays undone for the next owner."""
        try:
            await asyncio.wait_for(self.leave.wait(), seconds)
        except TimeoutError:
            return
        raise _Stopping


class _WaitForRevokedWork(ConsumerRebalanceListener):
    def __init__(self, owner: EventConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Finish (and commit) what the revoked partitions are doing before another member
        # of the group takes them: no two consumers ever work one partition at once.
        await self.owner._drain(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            self.owner.assigned.set()


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
        retry_later_max_s: float = 60.0,
    ) -> None:
        self.service = service
        self.db = db
        self.topic_name = topic_name
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.producer_factory = producer_factory
        self.max_attempts = max_attempts
        self.backoff_ms = backoff_ms
        self.retry_later_max_s = retry_later_max_s
        self._routes: list[Route] = []
        self.table: RouteTable = route_table([])
        self._physical: dict[str, str] = {}  # physical topic -> declared topic
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq_producer: AIOKafkaProducer | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._work: dict[TopicPartition, asyncio.Task[None]] = {}
        self._parts: dict[TopicPartition, _Partition] = {}
        self.assigned = asyncio.Event()  # set once the group gave this consumer partitions

    # -- declaration -----------------------------------------------------------------------

    def subscribe(self, routes: Routes) -> None:
        """Add routes; the whole table is re-checked, so a collision fails here, at start-up."""
        self._routes = [*self._routes, *routes]
        self.table = route_table(self._routes)
        self._physical = {self.topic_name(t): t for t in self.table.topics}

    @property
    def routes(self) -> dict[str, list[str]]:
        """Event type (or `topic:*`) -> handler names: what the catalog documents."""
        out = {t: [r.name for r in rs] for t, rs in self.table.by_type.items()}
        out.update({f"{t}:*": [r.name for r in rs] for t, rs in self.table.by_topic.items()})
        return out

    @property
    def topics(self) -> list[str]:
        return sorted(self._physical)

    async def ensure_indexes(self) -> None:
        # `_id` is "<handler>:<event id>": unique by construction, no extra index needed.
        await self.db[PROCESSED].create_index("processed_at")

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        if self.topics:
            self._task = asyncio.create_task(self._run(), name=f"consumer-{self.service}")

    async def stop(self) -> None:
        """Finish the records in hand, commit their offsets, leave the group.

        A handler waiting out a retry or a channel outage stops waiting; its record is left
        uncommitted and handled after the next start.
        """
        self._stop.set()
        for part in self._parts.values():
            part.leave.set()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = 0.5
        while not self._stop.is_set():
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=self.group_id,
                client_id=f"gonghui-{self.service}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=100,
            )
            consumer.subscribe(self.topics, listener=_WaitForRevokedWork(self))
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
                await self._drain(set(self._work))
                self._consumer = None
                await consumer.stop()
            if not self._stop.is_set():
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        if self._dlq_producer:
            await self._dlq_producer.stop()

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while not self._stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                if records:
                    # Paused until its task is done: getmany returns nothing more for it.
                    consumer.pause(tp)
                    part = _Partition(consumer, tp)
                    self._parts[tp] = part
                    self._work[tp] = asyncio.create_task(
                        self._work_partition(part, records), name=f"consume-{tp}"
                    )
            for tp, task in list(self._work.items()):
                if task.done():
                    del self._work[tp]
                    self._parts.pop(tp, None)
                    task.result()  # a failure here (DLQ unreachable) restarts the consumer
                    if tp in consumer.assignment():
                        consumer.resume(tp)
            await self._report_lag(consumer)

    async def _drain(self, partitions: set[TopicPartition]) -> None:
        """Stop the work on these partitions at the next safe point and wait for it."""
        for tp in partitions:
            if tp in self._parts:
                self._parts[tp].leave.set()
        tasks = [self._work.pop(tp) for tp in partitions if tp in self._work]
        for tp in partitions:
            self._parts.pop(tp, None)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _work_partition(self, part: _Partition, records: list[ConsumerRecord]) -> None:
        try:
            for record in records:
                await self._handle_record(record, part)
                part.handled = record.offset
        except _Stopping:
            pass
        finally:
            # Commit only what was handled (or dead-lettered): at-least-once, never lost.
            await part.commit()

    async def _report_lag(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            if end is not None:
                lag = max(end - await consumer.position(tp), 0)
                CONSUMER_LAG.labels(self.service, tp.topic, tp.partition).set(lag)

    # -- handling --------------------------------------------------------------------------

    async def dispatch(self, envelope: CloudEvent) -> None:
        """Run this service's handlers for one event, without Kafka: for use-case tests.

        Processed markers apply as in production; a failing handler raises at once.
        """
        for route in self.table.for_event(topic_of(envelope.type), envelope.type):
            if await self._already_processed(route, envelope):
                continue
            await self._call(route, envelope)
            await self._mark_processed(route, envelope)

    async def _handle_record(self, record: ConsumerRecord, part: _Partition) -> None:
        declared = self._physical.get(record.topic, record.topic)
        try:
            if record.value is None:
                envelope = tombstone_envelope(declared, record)
            else:
                envelope = CloudEvent.from_json_bytes(record.value)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(record, "envelope", PoisonMessage(str(exc)), attempts=1)
            return
        token = trace_id_var.set(trace_id_of(envelope.traceparent))
        try:
            for route in self.table.for_event(declared, envelope.type):
                await self._run_route(route, envelope, record, part)
        finally:
            trace_id_var.reset(token)

    async def _already_processed(self, route: Route, envelope: CloudEvent) -> bool:
        if route.idempotent:
            return False
        processed = self.db[PROCESSED]
        if await processed.find_one({"_id": f"{route.name}:{envelope.id}"}, {"_id": 1}):
            return True
        if route.legacy_name:
            legacy = f"{route.legacy_name}:{envelope.id}"
            return bool(await processed.find_one({"_id": legacy}, {"_id": 1}))
        return False

    async def _mark_processed(self, route: Route, envelope: CloudEvent) -> None:
        if route.idempotent:
            return
        marker = {"_id": f"{route.name}:{envelope.id}", "processed_at": datetime.now(UTC)}
        try:
            await self.db[PROCESSED].insert_one(marker)
        except DuplicateKeyError:
            pass  # a parallel delivery finished first; the handler is idempotent anyway

    async def _call(self, route: Route, envelope: CloudEvent) -> None:
        if route.event is None:
            await route.handler(envelope)
            return
        payload = parse(envelope)
        assert payload is not None  # typed routes only hold registered types
        await route.handler(payload, envelope)

    async def _run_route(
        self, route: Route, envelope: CloudEvent, record: ConsumerRecord, part: _Partition
    ) -> None:
        name = route.name
        if await self._already_processed(route, envelope):
            HANDLER_OUTCOMES.labels(self.service, name, "duplicate").inc()
            return
        if route.event is not None:
            try:
                parse(envelope)
            except ValidationError as exc:
                await self._dead_letter(record, name, PoisonMessage(str(exc)), attempts=1)
                return
        attempt = 0
        waited = 0.0
        try:
            while True:
                try:
                    await self._call(route, envelope)
                    break
                except RetryLater as exc:
                    # Not an attempt: the channel is down for every message alike. Keep what
                    # is done, show the wait, and try again with a growing pause.
                    if not waited:
                        await part.commit()
                    HANDLER_WAITING.labels(self.service, name).set(1)
                    waited = min(max(waited * 2, 1.0), self.retry_later_max_s)
                    delay = exc.after_s or waited
                    log.warning("handler %s waits %.0fs for a channel: %s", name, delay, exc)
                    await part.pause(delay)
                except Exception as exc:
                    attempt += 1
                    if attempt >= self.max_attempts:
                        log.error(
                            "handler %s failed %d times on %s: %s", name, attempt, envelope.id, exc
                        )
                        await self._dead_letter(record, name, exc, attempts=attempt)
                        return
                    HANDLER_OUTCOMES.labels(self.service, name, "retry").inc()
                    log.warning(
                        "handler %s failed on %s (try %d): %s", name, envelope.id, attempt, exc
                    )
                    await part.pause(self.backoff_ms / 1000 * 2 ** (attempt - 1))
        finally:
            if waited:
                HANDLER_WAITING.labels(self.service, name).set(0)
        await self._mark_processed(route, envelope)
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

    @property
    def connected(self) -> bool:
        return not self.topics or self._consumer is not None


__all__ = ["EventConsumer", "PoisonMessage", "RetryLater"]

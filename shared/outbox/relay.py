"""The outbox relay: publishes what the writer hands it, and what a sweep finds left behind.

Per key (aggregate id) in write order, one change of a key in flight at a time, every key on
its own; markers of published writes deleted; a sweep every `poll_s` over the small marker
collection (see the package docstring, shared/outbox/__init__.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo.asynchronous.database import AsyncDatabase

from shared.envelope import CONTENT_TYPE, CloudEvent, topic_of
from shared.events import REGISTRY
from shared.outbox.writer import OUTBOX, PENDING, Pending
from shared.telemetry import OUTBOX_BACKLOG, OUTBOX_OLDEST_SECONDS, OUTBOX_PUBLISHED
from shared.timeutil import utcnow

# The logger's name from before the writer and the relay were two modules: what operators
# filter and rate-limit on stays the same.
log = logging.getLogger("shared.outbox")

CONTENT_TYPE_HEADER = ("content-type", CONTENT_TYPE.encode())


def is_tombstone(event: CloudEvent) -> bool:
    model = REGISTRY.get(event.type)
    return bool(model and model.tombstone)


class OutboxRelay:
    """Publishes what the outbox writer hands it, and what the sweep finds left behind."""

    def __init__(
        self,
        *,
        service: str,
        db: AsyncDatabase,
        producer_factory: Callable[[], AIOKafkaProducer],
        topic_name: Callable[[str], str],
        poll_s: float = 10.0,
        grace_s: float = 5.0,
        orphan_after_s: float = 60.0,
        stall_after_s: float = 10.0,
        max_in_flight: int = 256,
    ) -> None:
        self.service = service
        self.db = db
        self.markers = db[PENDING]
        self.producer_factory = producer_factory
        self.topic_name = topic_name
        self.poll_s = poll_s
        self.grace_s = grace_s  # a fresh marker is the writer's own business for this long
        # A marker whose document is missing may belong to an insert still in flight on
        # another replica: only after this long is it surely an orphan.
        self.orphan_after_s = orphan_after_s
        self.stall_after_s = stall_after_s
        self.max_in_flight = max_in_flight
        self.producer: AIOKafkaProducer | None = None
        self._queue: dict[str, deque[Pending]] = {}  # key -> its pending writes, in order
        # Keys whose next write can go (not in flight, not waiting to retry), oldest first:
        # sending walks this, never the whole queue (a plan's publication queues 50,000 keys,
        # and a dict walked from its front after many deletions skips every deleted slot).
        self._ready: deque[str] = deque()
        self._scheduled: set[str] = set()  # the keys in _ready
        self._known: set[str] = set()  # markers held here until deleted (the sweep skips them)
        self._held: set[tuple[str, str]] = set()  # (marker, document) queued here
        self._left: dict[str, int] = {}  # marker -> its documents not published yet
        self._flushing: asyncio.Task[None] | None = None
        self._waiting = 0  # events queued here, not published yet
        self._reported_at = 0.0
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._retry_at: dict[str, tuple[float, float]] = {}  # key -> (when, backoff)
        self._done: list[str] = []  # markers of published writes, to delete
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._stalled_since: float | None = None
        self.published = 0

    # -- what writers call -----------------------------------------------------------------

    def enqueue(self, pending: Pending) -> None:
        held = (pending.marker, pending.doc_id)
        if held in self._held:
            return
        self._held.add(held)
        self._known.add(pending.marker)
        self._left[pending.marker] = self._left.get(pending.marker, 0) + 1
        self._waiting += len(pending.events)
        self._queue.setdefault(pending.key, deque()).append(pending)
        if pending.key not in self._in_flight:
            self._make_ready(pending.key)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.service}")

    async def stop(self, flush_timeout_s: float = 10.0) -> None:
        """Stop the loop, publish what is still pending (bounded), close the producer."""
        self._stopping = True
        self._wake.set()
        if self._task:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._flushing:
            await asyncio.gather(self._flushing, return_exceptions=True)
        try:
            # drain() connects if the loop never did: what was written is sent before exit.
            await asyncio.wait_for(self.drain(), flush_timeout_s)
        except (TimeoutError, KafkaError, OSError) as exc:
            log.warning("outbox not fully flushed at shutdown (sent at next start): %r", exc)
        finally:
            for task in self._in_flight.values():
                task.cancel()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            if self.producer is not None:
                await self.producer.stop()
                self.producer = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        retry_s = 0.5
        next_sweep = 0.0  # sweep at once: a previous run may have left markers
        first = True
        while not self._stopping:
            # Clear before working: a write that lands meanwhile sets it again, so its
            # events go out in the next round instead of waiting for the poll.
            self._wake.clear()
            wait_s = self.poll_s
            try:
                await self._ensure_producer()
                if loop.time() >= next_sweep:
                    await self.sweep(grace_s=0 if first else self.grace_s)
                    first = False
                    next_sweep = loop.time() + self.poll_s
                self._send_ready()
                self._start_flush()
                wait_s = min(self._next_retry_in(), next_sweep - loop.time())
                retry_s = 0.5
            except (KafkaError, OSError) as exc:
                # Kafka (or the database) is away: requests keep succeeding, events wait.
                log.warning("outbox relay cannot publish yet: %s", exc)
                wait_s, retry_s = retry_s, min(retry_s * 2, 10.0)
            except Exception:
                log.exception("outbox relay failed; retrying")
                wait_s, retry_s = retry_s, min(retry_s * 2, 10.0)
            self._report()
            try:
                await asyncio.wait_for(self._wake.wait(), max(wait_s, 0.01))
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

    # -- publishing ------------------------------------------------------------------------

    def _make_ready(self, key: str) -> None:
        if key not in self._scheduled:
            self._scheduled.add(key)
            self._ready.append(key)

    def _send_ready(self) -> None:
        now = time.monotonic()
        for key, (when, _) in self._retry_at.items():
            if when <= now and key in self._queue and key not in self._in_flight:
                self._make_ready(key)
        while self._ready and len(self._in_flight) < self.max_in_flight:
            key = self._ready.popleft()
            self._scheduled.discard(key)
            if key not in self._queue or key in self._in_flight:
                continue
            if self._retry_at.get(key, (0.0, 0.0))[0] > now:
                continue  # waits for its retry time (readied again above when it comes)
            self._in_flight[key] = asyncio.create_task(self._publish(key), name=f"outbox-{key}")

    async def _publish(self, key: str) -> None:
        """Publish the oldest pending write of `key`; on failure the key waits and retries."""
        pending = self._queue[key][0]
        try:
            producer = await self._ensure_producer()
            futures = [
                await producer.send(
                    self.topic_name(topic_of(event.type)),
                    None if is_tombstone(event) else event.to_json_bytes(),
                    key=event.kafka_key.encode(),
                    headers=[] if is_tombstone(event) else [CONTENT_TYPE_HEADER],
                )
                for event in pending.events
            ]
            await asyncio.gather(*futures)
        except Exception as exc:
            # Short: a partition gets a new leader within seconds; the producer itself waits
            # up to its request timeout inside a send, so this only spaces the tries.
            backoff = min(self._retry_at.get(key, (0.0, 0.25))[1] * 2, 2.0)
            self._retry_at[key] = (time.monotonic() + backoff, backoff)
            if isinstance(exc, KafkaError | OSError):
                log.debug("outbox: %s not published yet (retry in %.1fs): %s", key, backoff, exc)
            else:
                log.exception("outbox: publishing %s failed (retry in %.1fs)", key, backoff)
        else:
            self._retry_at.pop(key, None)
            queue = self._queue[key]
            queue.popleft()
            if queue:
                self._make_ready(key)  # its next write, after the ones already waiting
            else:
                del self._queue[key]
            self._published(pending)
            self.published += len(pending.events)
            OUTBOX_PUBLISHED.labels(self.service).inc(len(pending.events))
        finally:
            del self._in_flight[key]
            self._wake.set()

    def _published(self, pending: Pending) -> None:
        """One document's events are on Kafka; its marker goes once all of its documents'
        are (a batch's marker lists many)."""
        self._held.discard((pending.marker, pending.doc_id))
        self._waiting -= len(pending.events)
        left = self._left.pop(pending.marker, 1) - 1
        if left > 0:
            self._left[pending.marker] = left
        else:
            self._done.append(pending.marker)

    def _start_flush(self) -> None:
        """Delete published markers beside the sending, not in its way: a delete waits for
        the database, and the next sends should not wait for it."""
        if self._done and (self._flushing is None or self._flushing.done()):
            self._flushing = asyncio.create_task(self._flush_in_background())

    async def _flush_in_background(self) -> None:
        try:
            await self._flush_done()
        except Exception as exc:  # the markers stay listed: the next round deletes them
            log.warning("outbox relay could not delete published markers yet: %r", exc)
        finally:
            self._wake.set()

    async def _flush_done(self) -> None:
        """Delete the markers of published writes, each by its `_id`: FerretDB answers that
        with an index lookup, while one `$in` over them all reads the whole marker
        collection, which is largest exactly when many writes are waiting."""
        if not self._done:
            return
        done, self._done = self._done, []
        gate = asyncio.Semaphore(8)  # the clients' connection pool
        failed: list[str] = []

        async def delete(marker: str) -> None:
            async with gate:
                try:
                    await self.markers.delete_one({"_id": marker})
                except Exception:
                    failed.append(marker)
                    raise

        results = await asyncio.gather(*(delete(m) for m in done), return_exceptions=True)
        self._known.difference_update(set(done) - set(failed))
        if failed:
            self._done.extend(failed)  # try again next round; worst case a sweep re-publishes
            raise next(r for r in results if isinstance(r, BaseException))

    def _next_retry_in(self) -> float:
        if not self._retry_at or not self._queue:
            return self.poll_s
        return max(min(when for when, _ in self._retry_at.values()) - time.monotonic(), 0.0)

    async def sweep(self, grace_s: float | None = None, limit: int = 1000) -> int:
        """Queue what other writers left behind (older than the grace); returns how many
        documents' events it queued."""
        grace = self.grace_s if grace_s is None else grace_s
        now = utcnow().timestamp()
        found: list[Pending] = []
        orphans: list[str] = []
        # Ids and times first: a batch's marker lists a thousand documents, and the markers
        # this relay holds (most of them, while it publishes a batch) are not read whole.
        async for head in self.markers.find({}, {"at": 1}).limit(limit):
            age = now - head["at"].timestamp()
            if head["_id"] in self._known or age < grace:
                continue
            marker = await self.markers.find_one({"_id": head["_id"]})
            if marker is None:
                continue  # published and deleted by its writer meanwhile
            written, absent = await self._written(marker)
            if absent and age <= self.orphan_after_s:
                continue  # an insert may still be in flight on another replica
            if not written:  # the insert never happened, or lost a race
                orphans.append(marker["_id"])
            found.extend(written)
        for marker_id in orphans:
            await self.markers.delete_one({"_id": marker_id})
        # Within a key, write order is document order (aggregate changes are `<id>#<version>`).
        for pending in sorted(found, key=lambda p: (p.key, p.doc_id)):
            self.enqueue(pending)
        return len(found)

    async def _written(self, marker: dict) -> tuple[list[Pending], int]:
        """The documents of a marker whose events are the ones it lists, and how many of its
        documents are not there (yet: an insert may be in flight). A document there with other
        events is another write's, which took the key first: this one was refused."""
        # A batch's marker lists its documents (FerretDB stores no arrays in arrays, so each
        # is a small document); a single write's marker is that document's entry itself.
        listed = marker.get("docs") or [marker]
        written: list[Pending] = []
        absent = 0
        for entry in listed:
            doc_id, event_ids = entry["doc"], entry["events"]
            doc = await self.db[marker["coll"]].find_one({"_id": doc_id}, {OUTBOX: 1})
            events = [CloudEvent.model_validate(e) for e in (doc or {}).get(OUTBOX, [])]
            if doc is None:
                absent += 1
            elif events and [e.id for e in events] == event_ids:
                found = Pending(marker["_id"], marker["coll"], doc_id, events[0].subject, events)
                written.append(found)
        return written, absent

    async def drain(self) -> int:
        """Publish everything pending now, including what others left; returns the count.

        Raises KafkaError when some event could not be published.
        """
        await self._ensure_producer()
        before = self.published
        await self.sweep(grace_s=0)
        while self._queue or self._in_flight:
            self._retry_at.clear()
            for key in self._queue:
                if key not in self._in_flight:
                    self._make_ready(key)
            self._send_ready()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            if self._retry_at:
                await self._flush_done()
                raise KafkaError(f"{len(self._retry_at)} key(s) could not be published")
        await self._flush_done()
        self._report()
        return self.published - before

    # -- what operators see ----------------------------------------------------------------

    def pending_events(self) -> int:
        return self._waiting

    def oldest_pending_s(self) -> float:
        oldest = min((q[0].since for q in self._queue.values()), default=None)
        return 0.0 if oldest is None else time.monotonic() - oldest

    def _report(self) -> None:
        # At most once a second while events wait: the age is a walk over every waiting key.
        now = time.monotonic()
        if self._waiting and now - self._reported_at < 1.0:
            return
        self._reported_at = now
        waiting, age = self.pending_events(), self.oldest_pending_s()
        OUTBOX_BACKLOG.labels(self.service).set(waiting)
        OUTBOX_OLDEST_SECONDS.labels(self.service).set(age)
        # Said once when publishing stalls and once when it recovers, not on every retry.
        if self._stalled_since is None and age > self.stall_after_s:
            self._stalled_since = time.monotonic() - age
            log.warning(
                "outbox publishing stalled: %d event(s) waiting, the oldest for %.0fs",
                waiting,
                age,
            )
        elif self._stalled_since is not None and waiting == 0:
            log.info(
                "outbox publishing recovered after %.0fs; nothing is waiting",
                time.monotonic() - self._stalled_since,
            )
            self._stalled_since = None

    async def backlog(self) -> int:
        """Writes whose events are not published yet, by any replica (the marker count)."""
        return await self.markers.count_documents({})

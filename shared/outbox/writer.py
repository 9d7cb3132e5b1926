"""The outbox writer: a document and its events in one insert, handed to the relay.

See the package docstring (shared/outbox/__init__.py) for why a change and its events are one
inserted document, and the order of the two inserts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.envelope import CloudEvent
from shared.events import IntegrationEvent, sequence_of
from shared.telemetry import current_traceparent
from shared.timeutil import utcnow

OUTBOX = "outbox"  # the field of a written document that holds its events
PENDING = "outbox_pending"  # markers of documents whose events are not published yet


@dataclass
class Pending:
    """One written document's events, waiting to be published."""

    marker: str
    collection: str
    doc_id: str
    key: str  # the Kafka key: events of one key go out in write order
    events: list[CloudEvent]
    since: float = field(default_factory=time.monotonic)


class Relay(Protocol):
    """What the writer needs of a relay (shared.outbox.relay.OutboxRelay): take a write."""

    def enqueue(self, pending: Pending) -> None: ...


@dataclass(frozen=True)
class Write:
    """One document and the events its insert causes (`Outbox.insert_many`)."""

    doc: dict[str, Any]
    events: Sequence[IntegrationEvent]
    subject: str
    campus: str
    version: int | None = None
    partition_key: str | None = None


DUPLICATE_KEY = 11000


class Outbox:
    """The outbox writer: the one way a service writes a document that carries events."""

    def __init__(self, db: AsyncDatabase, source: str, relay: Relay) -> None:
        self.db = db
        self.source = source
        self.relay = relay
        self.markers = db[PENDING]

    def envelopes(
        self,
        events: Sequence[IntegrationEvent],
        *,
        subject: str,
        campus: str,
        version: int | None = None,
        partition_key: str | None = None,
    ) -> list[CloudEvent]:
        """Wrap events: source, subject, campus, the current trace, their sequence (and the
        partition key, when the events of many subjects must keep one partition's order)."""
        traceparent = current_traceparent()
        return [
            event.envelope(
                source=self.source,
                subject=subject,
                campus=campus,
                traceparent=traceparent,
                sequence=sequence_of(version, i) if version is not None else None,
                partitionkey=partition_key,
            )
            for i, event in enumerate(events)
        ]

    async def insert(
        self,
        collection: str,
        doc: dict[str, Any],
        events: Sequence[IntegrationEvent],
        *,
        subject: str,
        campus: str,
        version: int | None = None,
        partition_key: str | None = None,
    ) -> list[CloudEvent]:
        """Insert `doc` carrying `events` and have them published; returns their envelopes.

        Raises DuplicateKeyError (and writes nothing that stays) when `doc`'s key exists.
        """
        envelopes = self.envelopes(
            events, subject=subject, campus=campus, version=version, partition_key=partition_key
        )
        if not envelopes:
            await self.db[collection].insert_one(doc)
            return []
        marker_id = uuid.uuid4().hex
        marker = {
            "_id": marker_id,
            "coll": collection,
            "doc": doc["_id"],
            "events": [e.id for e in envelopes],
            "at": utcnow(),
        }
        await self.markers.insert_one(marker)
        try:
            await self.db[collection].insert_one(
                {**doc, OUTBOX: [e.to_outbox() for e in envelopes]}
            )
        except DuplicateKeyError:
            await self.markers.delete_one({"_id": marker["_id"]})
            raise
        self.relay.enqueue(Pending(marker["_id"], collection, doc["_id"], subject, envelopes))
        return envelopes

    async def insert_many(self, collection: str, writes: Sequence[Write]) -> list[bool]:
        """`insert` for many documents at once (a bulk import, a plan's publication): one
        marker for the whole batch, then the documents in one insert, each still under its own
        unique key (`ordered=False`: a document whose key exists is refused alone, as `insert`
        would refuse it). Returns, for each write, whether its document was inserted.

        One marker, not one per document: on FerretDB a marker costs an insert to write and a
        delete to clear, as much as the document itself. The marker lists every document with
        its event ids; the relay deletes it once every inserted one is published, and the
        sweep, finding it left behind, publishes the ones whose events match (a refused
        document is another write's, with other event ids).
        """
        if not writes:
            return []
        envelopes = [
            self.envelopes(
                w.events,
                subject=w.subject,
                campus=w.campus,
                version=w.version,
                partition_key=w.partition_key,
            )
            for w in writes
        ]
        marker_id = uuid.uuid4().hex
        marker = {
            "_id": marker_id,
            "coll": collection,
            "docs": [
                {"doc": w.doc["_id"], "events": [e.id for e in envs]}
                for w, envs in zip(writes, envelopes, strict=True)
                if envs
            ],
            "at": utcnow(),
        }
        if marker["docs"]:
            await self.markers.insert_one(marker)
        docs = [
            {**w.doc, OUTBOX: [e.to_outbox() for e in envs]} if envs else w.doc
            for w, envs in zip(writes, envelopes, strict=True)
        ]
        refused: set[int] = set()
        try:
            await self.db[collection].insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if exc.details.get("writeConcernErrors") or any(
                e.get("code") != DUPLICATE_KEY for e in errors
            ):
                raise  # the sweep publishes what was written and then clears the marker
            refused = {e["index"] for e in errors}
        written = [
            Pending(marker_id, collection, w.doc["_id"], w.subject, envs)
            for i, (w, envs) in enumerate(zip(writes, envelopes, strict=True))
            if envs and i not in refused
        ]
        if marker["docs"] and not written:
            await self.markers.delete_one({"_id": marker_id})
        for pending in written:
            self.relay.enqueue(pending)
        return [i not in refused for i in range(len(writes))]

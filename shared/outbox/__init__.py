"""Transactional outbox: a document and the events its write causes, one insert; a relay.

Two modules: `writer` (`Outbox`, the one way events enter the database) and `relay`
(`OutboxRelay`, which publishes them to Kafka). Their names are re-exported here.

FerretDB (and MongoDB without a replica set) has no multi-document transactions, and
FerretDB 1.x does not make updates atomic (see `shared.claims`). So a change and its events
are *one inserted document* — the events ride in its `outbox` field — and nothing is ever
updated to publish them. `Outbox.insert` is the only way events enter the database; it

1. inserts a small *pending marker* into `outbox_pending` (which collection, which document,
   which event ids; `insert_many` one marker for its whole batch) — before the document, so a crash between the two leaves a marker that
   points at nothing (cleaned up), never a document whose events nobody knows about;
2. inserts the document with its events (a duplicate key removes the marker and raises:
   that is how concurrent changes of one aggregate lose, see `shared.aggregate`);
3. hands the events to this process's relay, which publishes them from memory at once.

The relay publishes per key (aggregate id) in write order, one change of a key in flight at
a time, and every key on its own: a partition whose leader is down holds back only the keys
that live on it, never the rest. A published write's marker is deleted (a batch's once all
its inserted documents are published), by `_id` and beside the sending; the document keeps
its `outbox` as the record of what it published. Every `poll_s` a sweep reads the small marker
collection for what a crashed or stopped replica left behind: its cost is
O(pending), not O(collection) — on FerretDB/SQLite any filter but `_id` scans the table.

A crash after publishing but before deleting a marker publishes again on the next sweep;
consumers are idempotent (processed-event markers), and each event carries its `sequence`
among its subject's events, so nothing is lost and nothing happens twice.
"""

from shared.outbox.relay import OutboxRelay
from shared.outbox.writer import OUTBOX, PENDING, Outbox, Pending, Write

__all__ = ["OUTBOX", "PENDING", "Outbox", "OutboxRelay", "Pending", "Write"]

"""How to change an aggregate safely on MongoDB *and* FerretDB 1.x: every change is an insert.

FerretDB applies `update_one`, `find_one_and_update` and `replace_one` as read, modify in Go,
write back, outside any transaction, so neither `$inc`, a version-guarded update nor `$push`
is atomic there. Only an insert under a unique key is. So (ideas from the `eventsourcing`
library and Marten: optimistic concurrency on a unique (aggregate id, version), an inline
"by id" read and an asynchronous projection for lists):

- **The change log is the truth.** Change number N of aggregate X is one inserted document
  `X#000000000N` in `<name>_changes` carrying the whole new state, who did it, when, from
  which request, what changed, and the events it causes (through the outbox writer). Two
  concurrent changes of X both build on version N-1 and both insert `X#…N`: the storage
  engine lets exactly one win. The loser re-reads and decides again (the rule may now refuse
  it: "已退会" cannot withdraw twice), a few times, then answers 409 `concurrency.conflict`.
- **A by-id read is always current.** `get(X)` reads the view document (version V), then the
  change log at `X#V+1`, `X#V+2`, … by `_id` until one is missing: keys the service
  computes, cheap on every backend. After a 2xx answer the change is in the log, so the next
  read sees it. A process remembers the newest versions it read or wrote (a few hundred per
  store) and starts there instead of at the view: one lookup, of `X#V+1`, when nothing moved.
- **Lists read a view with one writer.** `<name>` holds each aggregate's current state for
  filters and pages. A creation's entry is inserted by its writer right away (an insert
  never overwrites anything); from there on its only writer is `refresh_view`, run by the
  service's own consumer of the aggregate's topic: the Kafka key is the aggregate id, so one partition — worked by one
  consumer of the group at a time, in order (see `shared.consumer`) — carries all of X's
  events. It re-reads the log, so it is idempotent and converges as soon as the event is
  consumed (well under a second on a healthy broker). Every change must therefore record at
  least one event on the aggregate's topic.
- **The log is the audit trail** (`history`): nothing in it is ever edited.
- **Callers use the store's API, never its collections**: `add_if_absent` (twice is once;
  `add` raises `AlreadyExists` carrying what is there), `existing(ids)` and `get_many` for
  batches, `changes_of_request` for a resumable job, `at_version`, and `recent_changes` /
  `count_changes` for a trail across aggregates; a change record is read by `Change.from_doc`
  only, so its format can change in one place.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

import bson
from pydantic import BaseModel, ConfigDict, PrivateAttr
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from shared.crypto import Sealer
from shared.envelope import CloudEvent
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from shared.events import IntegrationEvent, version_of
from shared.mongo import find_by_ids
from shared.outbox.writer import OUTBOX, Outbox, Write
from shared.principal import Principal
from shared.routing import Routes, on_topic
from shared.telemetry import trace_id_var
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

HIDDEN = "***"  # how a secret field's old and new values appear in the change history
VIEWED_FIRST_KEPT = 60_000  # ids of first list entries remembered (a plan publication: 50,000)


class Aggregate(BaseModel):
    """A domain aggregate: id, version, campus, and the events its last change recorded.

    Subclasses add their fields and their rules (methods that check, change the fields and
    `record` what happened). `secret_fields` are sealed at rest and never show their values in
    the history; `private_fields` are stored in clear but never shown in the history either
    (a member's children: personal data of minors that no auditor needs to read).
    """

    model_config = ConfigDict(extra="ignore")

    secret_fields: ClassVar[frozenset[str]] = frozenset()
    private_fields: ClassVar[frozenset[str]] = frozenset()

    id: str
    version: int = 0
    campus: str

    _events: list[IntegrationEvent] = PrivateAttr(default_factory=list)

    @property
    def partition_key(self) -> str | None:
        """The Kafka key of its events when it is not the aggregate's id (None: the id).

        A registration answers its activity's id, so one activity's registrations, waitlist
        and promotions are one partition, worked in order by one consumer.
        """
        return None

    def record(self, *events: IntegrationEvent) -> None:
        self._events.extend(events)

    @property
    def events(self) -> list[IntegrationEvent]:
        """What the change in hand has recorded (not yet written)."""
        return list(self._events)

    def pull_events(self) -> list[IntegrationEvent]:
        events, self._events = self._events, []
        return events


A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Actor:
    """Who makes a change and from which request (or event): the audit trail's subject."""

    subject: str
    request: str | None = None  # trace id of the request or event that caused it

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.subject, trace_id_var.get())

    @classmethod
    def system(cls, cause: CloudEvent | None = None) -> Actor:
        """A change the platform makes itself, e.g. reacting to another service's event."""
        return cls("system", cause.id if cause else trace_id_var.get())


@dataclass(frozen=True)
class Change:
    """One entry of an aggregate's history (its state left out)."""

    aggregate_id: str
    version: int
    action: str
    by: str
    request: str | None
    at: datetime
    changed: dict[str, dict[str, Any]]
    events: list[str]  # event types it published
    campus: str | None = None  # the aggregate's campus after it (None: read without state)

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], hidden: frozenset[str] = frozenset()) -> Change:
        """A stored change record as a history entry: the one reading of the log's format.

        A creation's record keeps no diff (it would repeat the state field by field, and on
        FerretDB every stored field costs: 50,000 entitlements of a plan): its `changed` is
        made here from the state, every field from nothing, `hidden` ones shown as `***`."""
        state = doc.get("state")
        changed = doc.get("changed")
        if changed is None:
            created = doc["version"] == 1 and state is not None
            changed = _diff({}, state or {}, hidden) if created else {}
        return cls(
            aggregate_id=doc["aggregate"],
            version=doc["version"],
            action=doc["action"],
            by=doc["by"],
            request=doc.get("request"),
            at=doc["at"],
            changed=changed,
            events=[e["type"] for e in doc.get(OUTBOX, [])],
            campus=state.get("campus", "") if state is not None else None,
        )


@dataclass(frozen=True)
class Added(Generic[A]):
    """What `add_if_absent` did: wrote `aggregate` (created), or found it there already
    (then `aggregate` is the one that exists, as it is now)."""

    aggregate: A
    created: bool


class AlreadyExists(Conflict):
    """`add` of an id that exists (409 `<name>.exists`); `existing` is that aggregate now."""

    def __init__(self, name: str, existing: Aggregate) -> None:
        super().__init__(f"{name}.exists", "记录已存在", id=existing.id)
        self.existing = existing


@dataclass(frozen=True)
class ChangeFilter:
    """Which changes of a log to list (the audit trail's questions); None: any."""

    by: str | None = None
    action: str | None = None
    aggregate_id: str | None = None
    campus: str | None = None
    campuses: Sequence[str] | None = None  # any of these (None: every campus)
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.by is not None:
            query["by"] = self.by
        if self.action is not None:
            query["action"] = self.action
        if self.aggregate_id is not None:
            query["aggregate"] = self.aggregate_id
        if self.campuses is not None:
            query["state.campus"] = {"$in": list(self.campuses)}
        if self.campus is not None:
            query["state.campus"] = self.campus
        at: dict[str, datetime] = {}
        if self.since is not None:
            at["$gte"] = self.since
        if self.until is not None:
            at["$lt"] = self.until
        if at:
            query["at"] = at
        return query


def change_id(aggregate_id: str, version: int) -> str:
    return f"{aggregate_id}#{version:010d}"


def to_bson(value: Any) -> Any:
    """Plain BSON values: dates as ISO text (business dates), enums as their value."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_bson(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_bson(v) for v in value]
    return value


def _diff(before: Mapping[str, Any], after: Mapping[str, Any], secret: frozenset[str]) -> dict:
    changed = {}
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old != new:
            hidden = key in secret
            changed[key] = {"from": HIDDEN if hidden else old, "to": HIDDEN if hidden else new}
    return changed


class AggregateStore(Generic[A]):
    """The change log, the by-id read and the list view of one aggregate type."""

    META = ("_id", "version", "updated_at", OUTBOX)
    # How many aggregates' newest (state, version) a store keeps in memory: the hot ones of a
    # burst (a campaign and its candidates, an exam plan) are a handful; a state is a few KiB.
    REMEMBERED = 256

    def __init__(
        self,
        db: AsyncDatabase,
        outbox: Outbox,
        model: type[A],
        *,
        name: str,
        topic: str,
        not_found: tuple[str, str],
        max_tries: int = 8,
        sealer: Sealer | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.model = model
        self.name = name
        self.topic = topic
        self.view = db[name]
        self.log = db[f"{name}_changes"]
        self.not_found = not_found  # (code, zh-CN message)
        self.max_tries = max_tries
        self.sealer = sealer
        # The newest state this process has read or written of each aggregate (as stored:
        # secret fields sealed). A read starts there and asks the log for the next version:
        # sound for the reason the view is, a change record is never edited and version N+1
        # is a unique key, so no N+1 means N is current whichever replica wrote it.
        # Kept as BSON: what the server would answer (milliseconds), and each read decodes a
        # copy of its own for a decision to change.
        self._latest: OrderedDict[str, tuple[bytes | None, int]] = OrderedDict()
        # Aggregates whose first list entry this process inserted (`_insert_first_views`):
        # their creation event needs no read of the entry's version when it comes back to
        # this process's consumer (a bulk creation read as many entries as it made).
        self._viewed_first: OrderedDict[str, None] = OrderedDict()
        # Fields whose values a change's diff shows as `***`.
        self.hidden = model.secret_fields | model.private_fields
        if model.secret_fields and sealer is None:
            raise ValueError(f"{model.__name__} has secret fields: give its store a Sealer")

    # -- reading -----------------------------------------------------------------------------

    async def get(self, aggregate_id: str, *, current: bool = True) -> A | None:
        """The current state, including every change answered so far.

        `current=False` takes the view (or a newer state this process remembers) as it is: a
        guess that is right unless a change is still on its way to the view — good enough to
        decide a change on, because the insert of the next version fails if the guess was
        stale (and saves the lookup of a version that does not exist, which on FerretDB/SQLite
        scans the whole log).
        """
        state: Mapping[str, Any] | None
        seen = self._latest.get(aggregate_id)
        if current and seen is not None:
            version = seen[1]
            later = await self.log.find_one({"_id": change_id(aggregate_id, version + 1)})
            if later is not None:  # moved on elsewhere: the view may be nearer than a walk
                state, version = later["state"], later["version"]
                view = await self.view.find_one({"_id": aggregate_id})
                if view is not None and view.get("version", 0) > version:
                    state, version = view, view["version"]
                state, version = await self._walk(aggregate_id, state, version)
            else:
                state = self._decoded(seen[0])
        else:
            # The guess reads the view, as a handler that reasons about what the view held
            # (registrations' "the cancel was consumed first") needs; what this process
            # remembers replaces it only where it is newer.
            state = await self.view.find_one({"_id": aggregate_id})
            version = state.get("version", 0) if state else 0
            if seen is not None and seen[1] > version:
                state, version = self._decoded(seen[0]), seen[1]
            if current or state is None:
                state, version = await self._walk(aggregate_id, state, version)
        self._remember(aggregate_id, state, version)
        return None if state is None else self._load(aggregate_id, state, version)

    def _remember(self, aggregate_id: str, state: Mapping[str, Any] | None, version: int) -> None:
        """Keep the newest state seen; None (version 0): not there when last asked, so the
        next read asks only for version 1 (a member's booking before she has one)."""
        seen = self._latest.get(aggregate_id)
        if seen is None or seen[1] < version:
            self._latest[aggregate_id] = (None if state is None else bson.encode(state), version)
        self._latest.move_to_end(aggregate_id)
        if len(self._latest) > self.REMEMBERED:
            self._latest.popitem(last=False)

    def _decoded(self, raw: bytes | None) -> dict[str, Any] | None:
        """A remembered state, decoded only where it is used: a copy of its own."""
        return None if raw is None else bson.decode(raw, self.log.codec_options)

    async def require(self, aggregate_id: str, *, current: bool = True) -> A:
        found = await self.get(aggregate_id, current=current)
        if found is None:
            raise NotFound(*self.not_found, id=aggregate_id)
        return found

    async def get_many(self, aggregate_ids: Sequence[str]) -> dict[str, A]:
        """The current state of many aggregates (those that exist).

        The same answer as `get` for each: the views by `_id`, then the next version of each in
        the log by `_id` (`find_by_ids`: one query each where the server can answer it from
        its index); only an aggregate whose view is behind reads on, change by change. For
        work in batches (an import of thousands).
        """
        ids = list(dict.fromkeys(aggregate_ids))
        if not ids:
            return {}
        found: dict[str, tuple[Mapping[str, Any] | None, int]] = {i: (None, 0) for i in ids}
        unseen = []
        for i in ids:
            seen = self._latest.get(i)
            if seen is None:
                unseen.append(i)
            else:
                found[i] = (self._decoded(seen[0]), seen[1])
        for view in (await find_by_ids(self.view, unseen)).values():
            found[view["_id"]] = (view, view.get("version", 0))
        keys = [change_id(i, version + 1) for i, (_, version) in found.items()]
        for change in (await find_by_ids(self.log, keys)).values():
            found[change["aggregate"]] = await self._walk(
                change["aggregate"], change["state"], change["version"]
            )
        loaded = {}
        for i, (state, version) in found.items():
            self._remember(i, state, version)
            if state is not None:
                loaded[i] = self._load(i, state, version)
        return loaded

    async def _walk(
        self, aggregate_id: str, state: Mapping[str, Any] | None, version: int
    ) -> tuple[Mapping[str, Any] | None, int]:
        """The state after every change that follows `version` in the log."""
        async for change in self._changes_after(aggregate_id, version):
            state, version = change["state"], change["version"]
        return state, version

    async def _changes_after(
        self, aggregate_id: str, version: int
    ) -> AsyncIterator[dict[str, Any]]:
        while True:
            change = await self.log.find_one({"_id": change_id(aggregate_id, version + 1)})
            if change is None:
                return
            version = change["version"]
            yield change

    def _load(self, aggregate_id: str, state: Mapping[str, Any], version: int) -> A:
        fields = {k: v for k, v in state.items() if k not in self.META}
        for name in self.model.secret_fields:
            if fields.get(name) is not None:
                assert self.sealer is not None
                fields[name] = self.sealer.open(fields[name], *self.sealed_at(aggregate_id, name))
        return self.model.model_validate({**fields, "id": aggregate_id, "version": version})

    @staticmethod
    def state_of(aggregate: Aggregate) -> dict[str, Any]:
        """The state as plain values (secret fields in clear: for diffs, never stored)."""
        return to_bson(aggregate.model_dump(exclude={"id", "version"}))

    def sealed_at(self, aggregate_id: str, field: str) -> tuple[str, str, str]:
        """Where a secret field's value belongs: it is sealed for this place, and does not
        open anywhere else (copied onto another member, or into another field)."""
        return (self.name, aggregate_id, field)

    def _sealed(self, aggregate_id: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """The state as it is stored: secret fields sealed (text, so numbers become text)."""
        out = dict(state)
        for name in self.model.secret_fields:
            if out.get(name) is not None:
                assert self.sealer is not None
                out[name] = self.sealer.seal(str(out[name]), *self.sealed_at(aggregate_id, name))
        return out

    async def history(self, aggregate_id: str) -> list[Change]:
        """Every change of the aggregate, oldest first (the audit trail)."""
        current = await self.get(aggregate_id)
        if current is None:
            return []
        found = await asyncio.gather(
            *(
                # The creation's state makes its diff; later ones carry theirs.
                self.log.find_one(
                    {"_id": change_id(aggregate_id, v)}, None if v == 1 else {"state": 0}
                )
                for v in range(1, current.version + 1)
            )
        )
        return [Change.from_doc(doc, self.hidden) for doc in found if doc is not None]

    async def at_version(self, aggregate_id: str, version: int) -> A | None:
        """The aggregate as change `version` left it (None: no such change)."""
        doc = await self.log.find_one({"_id": change_id(aggregate_id, version)})
        return self._load(aggregate_id, doc["state"], version) if doc is not None else None

    async def existing(self, aggregate_ids: Sequence[str]) -> set[str]:
        """Which of the ids exist: their first changes read by key, whatever the view says.
        For work in batches."""
        ids = list(dict.fromkeys(aggregate_ids))
        if not ids:
            return set()
        first = await find_by_ids(self.log, [change_id(i, 1) for i in ids], {"aggregate": 1})
        return {d["aggregate"] for d in first.values()}

    async def changes_of_request(
        self, request: str | None, versions: Mapping[str, int], action: str | None = None
    ) -> list[Change]:
        """Which of the given changes (aggregate id -> version) the request made: a resumable
        job (an import after a crash) tells what it did before from what it finds. Read by
        key, whatever the size of the log."""
        if not versions:
            return []
        where: dict[str, Any] = {"request": request}
        if action is not None:
            where["action"] = action
        keys = [change_id(i, v) for i, v in versions.items()]
        found = await find_by_ids(self.log, keys, where=where)
        return [Change.from_doc(found[k], self.hidden) for k in keys if k in found]

    async def recent_changes(self, where: ChangeFilter, limit: int) -> list[Change]:
        """The newest `limit` changes of any aggregate that match, newest first."""
        cursor = self.log.find(where.query()).sort([("at", -1), ("_id", -1)]).limit(limit)
        return [Change.from_doc(d, self.hidden) async for d in cursor]

    async def count_changes(self, where: ChangeFilter) -> int:
        return await self.log.count_documents(where.query())

    async def index_changes_by_time(self) -> None:
        """For `recent_changes` across aggregates (the audit trail's newest-first pages)."""
        await self.log.create_index([("at", -1)])

    # -- writing -----------------------------------------------------------------------------

    async def add(self, aggregate: A, actor: Actor, action: str = "create") -> A:
        """Write a new aggregate (its version 1) with the events its creation recorded;
        AlreadyExists (409, carrying the existing one) when its id is taken."""
        added = await self.add_if_absent(aggregate, actor, action)
        if not added.created:
            raise AlreadyExists(self.name, added.aggregate)
        return added.aggregate

    async def add_if_absent(self, aggregate: A, actor: Actor, action: str = "create") -> Added[A]:
        """`add`, or the aggregate that has the id already: twice is once.

        The unique key of version 1 decides between concurrent adds of one id: one writes,
        every other reads what it wrote (the winner's insert is in the log before the losers'
        inserts fail, so the read finds it).
        """
        if aggregate.version != 0:
            raise ValueError("add() writes new aggregates; use change() for existing ones")
        try:
            await self._append(aggregate, {}, actor, action)
            return Added(aggregate, created=True)
        except DuplicateKeyError:
            existing = await self.get(aggregate.id)
        if existing is None:  # the key is taken, so its change is there: never expected
            raise Conflict(f"{self.name}.exists", "记录已存在", id=aggregate.id)
        return Added(existing, created=False)

    async def add_many(
        self, aggregates: Sequence[A], actor: Actor, action: str = "create"
    ) -> list[bool]:
        """`add` for many new aggregates in two inserts (markers, change records), each still
        its own unique key: for each, True when written, False when its id existed already
        (nothing of it is written, as `add` would refuse it)."""
        writes = []
        for aggregate in aggregates:
            if aggregate.version != 0:
                raise ValueError("add_many() writes new aggregates")
            doc = self._change_doc(aggregate, {}, actor, action)
            writes.append(
                Write(
                    doc,
                    aggregate.events,
                    aggregate.id,
                    aggregate.campus,
                    doc["version"],
                    aggregate.partition_key,
                )
            )
        added = await self.outbox.insert_many(self.log.name, writes)
        for aggregate, ok in zip(aggregates, added, strict=True):
            if ok:
                aggregate.version = 1
                aggregate.pull_events()
        await self._insert_first_views([w.doc for w, ok in zip(writes, added, strict=True) if ok])
        return added

    async def change(
        self, aggregate_id: str, decide: Callable[[A], object], actor: Actor, action: str
    ) -> A:
        """Apply `decide` to the current state and write the result as the next version.

        `decide` checks the rules (raising a DomainError) and records events. It first runs on
        the list view's state (one read, no lookup of a version that does not exist); that guess
        can only cost a retry, never a wrong answer: a refusal, and a "nothing to do" (the
        view may not have the change that makes it something to do), are checked again on
        the change log, and a stale acceptance loses the insert of its version. When another change wins
        the race for the same version, the state is read again and `decide` runs again; after
        `max_tries` lost races the caller gets ConcurrencyConflict (409).
        """
        guess = True  # first on the view's state; after a lost race or a refusal, the log's
        for attempt in range(self.max_tries):
            aggregate = await self.require(aggregate_id, current=not guess)
            before = self.state_of(aggregate)
            try:
                decide(aggregate)
            except Exception:
                if guess:  # refused on a view that may be behind: ask the log before saying no
                    guess = False
                    continue
                raise
            if not aggregate.events:
                if self.state_of(aggregate) != before:
                    raise RuntimeError(f"{action} changed {aggregate_id} without recording it")
                if guess:  # "nothing to do" on a view that may be behind: ask the log too
                    guess = False
                    continue
                return aggregate  # nothing to do: the state already is what was asked
            try:
                await self._append(aggregate, before, actor, action)
                return aggregate
            except DuplicateKeyError:
                # Lost the race for this version; back off a little so the winner's change is
                # readable, then decide again on the state it left.
                guess = False
                await asyncio.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
        raise ConcurrencyConflict(aggregate_id)

    async def _append(
        self, aggregate: A, before: Mapping[str, Any], actor: Actor, action: str
    ) -> None:
        doc = self._change_doc(aggregate, before, actor, action)
        await self.outbox.insert(
            self.log.name,
            doc,
            aggregate.events,
            subject=aggregate.id,
            campus=aggregate.campus,
            version=doc["version"],
            partition_key=aggregate.partition_key,
        )
        aggregate.version = doc["version"]
        aggregate.pull_events()
        self._remember(aggregate.id, doc["state"], doc["version"])
        if doc["version"] == 1:
            await self._insert_first_views([doc])

    async def _insert_first_views(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """New aggregates' list entries, right away: a list shows what was just created.

        An insert never overwrites, so `refresh_view` stays the one that moves an entry on: if
        its consumer was first, the entry there is the same or newer and this insert is
        refused. It is a convenience, not the record: a failure is logged and the consumer
        writes the entry as it always did.
        """
        if not changes:
            return
        views = [
            {**c["state"], "_id": c["aggregate"], "version": 1, "updated_at": c["at"]}
            for c in changes
        ]
        try:
            await self.view.insert_many(views, ordered=False)
        except BulkWriteError as e:
            others = [err for err in e.details.get("writeErrors", []) if err.get("code") != 11000]
            if others:
                log.warning("%s: %d new list entries left to the consumer", self.name, len(others))
            failed = {err["index"] for err in others}
            self._viewed([v["_id"] for i, v in enumerate(views) if i not in failed])
        except PyMongoError as e:
            log.warning("%s: new list entries left to the consumer (%s)", self.name, e)
        else:
            self._viewed([v["_id"] for v in views])

    def _viewed(self, ids: list[str]) -> None:
        """Entries at version 1 or later now (inserted, or there already: a duplicate)."""
        for aggregate_id in ids:
            self._viewed_first[aggregate_id] = None
        while len(self._viewed_first) > VIEWED_FIRST_KEPT:
            self._viewed_first.popitem(last=False)

    def _change_doc(
        self, aggregate: A, before: Mapping[str, Any], actor: Actor, action: str
    ) -> dict[str, Any]:
        """The change record of the aggregate's next version (its events go in by the outbox)."""
        if not any(e.topic == self.topic for e in aggregate.events):
            raise RuntimeError(
                f"{action} on {aggregate.id} must record an event on {self.topic}: the list "
                "view is refreshed from that topic"
            )
        version = aggregate.version + 1
        state = self.state_of(aggregate)
        doc = {
            "_id": change_id(aggregate.id, version),
            "aggregate": aggregate.id,
            "version": version,
            "action": action,
            "by": actor.subject,
            "request": actor.request,
            "at": utcnow(),
            "state": self._sealed(aggregate.id, state),
        }
        if before:  # a creation's diff is its state (`Change.from_doc` makes it from that)
            doc["changed"] = _diff(before, state, self.hidden)
        return doc

    # -- the list view -----------------------------------------------------------------------

    async def refresh_view(self, aggregate_id: str, version: int | None = None) -> int:
        """Bring the view of one aggregate up to `version` (default: its latest change);
        returns the version the view is known to have reached.

        Only the consumer that owns the aggregate's partition calls this (see the module
        docstring), so the read-then-replace below has no concurrent writer to race.
        """
        if version == 1 and aggregate_id in self._viewed_first:
            return 1  # this process inserted the entry at version 1, or found one there
        view = await self.view.find_one({"_id": aggregate_id}, {"version": 1})
        seen = view.get("version", 0) if view else 0
        latest = None
        if version is not None:
            if version <= seen:
                # A creation whose writer inserted the entry, a redelivery, or an event of a
                # change already applied.
                return seen
            if version == 1 and await self._insert_first_view(aggregate_id):
                return 1
            latest = await self.log.find_one({"_id": change_id(aggregate_id, version)})
        else:
            async for change in self._changes_after(aggregate_id, seen):
                latest = change
        if latest is None:
            return seen
        doc = {**latest["state"], "version": latest["version"], "updated_at": latest["at"]}
        await self.view.replace_one({"_id": aggregate_id}, doc, upsert=True)
        return latest["version"]

    async def _insert_first_view(self, aggregate_id: str) -> bool:
        """A creation's view entry, inserted (one round trip fewer than read, then replace: a
        plan's publication creates 50,000). False when there is one already (a redelivery),
        and the usual way decides."""
        first = await self.log.find_one({"_id": change_id(aggregate_id, 1)})
        if first is None:
            return False
        doc = {**first["state"], "_id": aggregate_id, "version": 1, "updated_at": first["at"]}
        try:
            await self.view.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def view_routes(self) -> Routes:
        """The subscription that keeps the view current (add it to the service's table)."""
        return [on_topic(self.topic, refresh_view, self, idempotent=True)]

    async def find(
        self,
        query: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int = 50,
    ) -> list[A]:
        """A page of the view (converges within a second of each change)."""
        return [a for a, _ in await self.find_updated(query, sort=sort, skip=skip, limit=limit)]

    async def find_updated(
        self,
        query: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]] = (),
        skip: int = 0,
        limit: int = 50,
    ) -> list[tuple[A, datetime | None]]:
        """`find`, each with when its last change was made (which the aggregate does not
        carry: a calendar feed's last-modified)."""
        cursor = self.view.find(dict(query))
        if sort:
            cursor = cursor.sort(list(sort))
        docs = await cursor.skip(skip).limit(limit).to_list()
        return [(self._load(d["_id"], d, d.get("version", 0)), d.get("updated_at")) for d in docs]

    async def count(self, query: Mapping[str, Any]) -> int:
        return await self.view.count_documents(dict(query))


async def refresh_view(envelope: CloudEvent, store: AggregateStore[Any]) -> None:
    """An event of the aggregate's topic arrived: bring its view up to that event's change.

    The event's `sequence` names the version (`sequence_of`), so the projection reads that
    one change by key instead of looking for versions that do not exist yet.
    """
    version = version_of(envelope.sequence) if envelope.sequence else None
    await store.refresh_view(envelope.subject, version)


__all__ = [
    "Actor",
    "Added",
    "Aggregate",
    "AggregateStore",
    "AlreadyExists",
    "Change",
    "ChangeFilter",
    "change_id",
    "refresh_view",
    "to_bson",
]

"""Atomic claims: the one write both MongoDB and FerretDB 1.x make atomic under concurrency.

Measured on FerretDB 1.24 (SQLite): `update_one` / `find_one_and_update` on one document are
not atomic against each other — FerretDB reads the document, applies the update in Go and
writes it back outside a transaction, so 200 concurrent acknowledged `$inc` left a counter at
10, and 100 concurrent `$push` kept 3. An insert under a unique key *is* atomic on both
servers (the storage engine enforces the key). So every invariant that concurrency can break —
capacity, one vote per member, one entitlement per member, budget lines — is a unique-key
insert, never a counter update:

- `claim_once`: the first insert of a key wins (votes, entitlements, idempotency).
- `take_slot` / `release_slot`: a bounded pool of numbered slots (activity capacity, exam
  slots, quotas); the slot documents are the counter, so a count can never pass capacity.
  `take_slots` takes slots for several holders of one pool at once (a ballot of K votes).
- `open_account` / `append_entry`: an append-only chain of money entries with a running
  balance (a budget line, a member's dues for a month); the first entry is written once
  however many try, and an entry with an idempotency key is appended once.
- `SlotPool`: the same slots for hot pools (a sign-up burst): several slots per holder (a
  registration with family guests), and what this process learned about a pool kept in
  memory, so a take is one insert per slot instead of a read of the whole pool.
- `NumberSeries`: numbers 1, 2, 3 … handed out once each in claim order (a waitlist), with
  no number skipped; the next number is remembered, not searched for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.timeutil import utcnow


async def claim_once(coll: AsyncCollection, key: str, doc: dict[str, Any] | None = None) -> bool:
    """Insert `key`; True for the one caller that got it first, False for everyone else."""
    try:
        await coll.insert_one({"_id": key, "claimed_at": utcnow(), **(doc or {})})
        return True
    except DuplicateKeyError:
        return False


def _slot_id(pool: str, number: int) -> str:
    return f"{pool}#{number:06d}"


async def take_slot(
    coll: AsyncCollection, pool: str, capacity: int, holder: str, doc: dict[str, Any] | None = None
) -> int | None:
    """Take a free slot 1..capacity of `pool` for `holder`; None when the pool is full.

    A holder holds at most one slot of a pool: taking again returns the slot it has.
    """
    if capacity <= 0:
        return None
    mine = await coll.find_one({"pool": pool, "holder": holder}, {"number": 1})
    if mine:
        return mine["number"]
    taken = {d["number"] async for d in coll.find({"pool": pool}, {"number": 1})}
    for number in range(1, capacity + 1):
        if number in taken:
            continue
        key = _slot_id(pool, number)
        slot = {"pool": pool, "number": number, "holder": holder}
        if await claim_once(coll, key, {**(doc or {}), **slot}):
            return number
        # Either someone took this number since our read (try the next), or this holder won
        # a slot in a parallel request (the unique (pool, holder) index refused a second).
        mine = await coll.find_one({"pool": pool, "holder": holder}, {"number": 1})
        if mine:
            return mine["number"]
    return None


class TakenSlots(NamedTuple):
    slots: dict[str, int | None]  # each holder's number (None: the pool was full)
    held: int  # numbers of the pool held after the call, as far as it saw (no extra read)


async def take_slots(
    coll: AsyncCollection,
    pool: str,
    capacity: int,
    holders: list[str],
    *,
    never_released: bool = False,
) -> TakenSlots:
    """`take_slot` for several holders of one pool: one read of the pool and one unordered
    insert of the free numbers; a holder whose insert lost a race takes its slot alone.

    The invariants are the same unique keys (`_id` per number, (pool, holder)): only the
    number of round trips changes. Holders are served in the order given.

    `never_released`: no slot of this pool is ever given back (a voter's votes). Then the
    first holders try numbers 1, 2, … straight away, without the read: number 1 is the first
    any pool hands out and is never free again, so if every one of them went in, the pool
    was empty and holds just these. Whatever did not go in takes the usual way.
    """
    found: dict[str, int | None] = {}
    if never_released and 0 < len(holders) <= capacity:
        tried = {h: n for n, h in enumerate(dict.fromkeys(holders), start=1)}
        placed = await _insert_slots(coll, pool, tried)
        if len(placed) == len(tried):
            return TakenSlots(dict(placed), len(placed))
        found.update(placed)
    taken: set[int] = set(n for n in found.values() if n is not None)
    async for d in coll.find({"pool": pool}, {"number": 1, "holder": 1}):
        taken.add(d["number"])
        if d["holder"] in holders:
            found[d["holder"]] = d["number"]
    free = (n for n in range(1, capacity + 1) if n not in taken)
    planned = {h: n for h, n in zip((h for h in holders if h not in found), free, strict=False)}
    found.update(await _insert_slots(coll, pool, planned))
    for holder in holders:
        if holder not in found:  # no free number seen, or lost its race: the careful path
            found[holder] = await take_slot(coll, pool, capacity, holder)
    if any(n is None for n in found.values()):
        return TakenSlots(found, capacity)  # `take_slot` answers None only for a full pool
    return TakenSlots(found, len(taken | {n for n in found.values() if n is not None}))


async def _insert_slots(
    coll: AsyncCollection, pool: str, planned: dict[str, int]
) -> dict[str, int]:
    """Insert the planned (holder → number) slots at once; those that went in."""
    if not planned:
        return {}
    slots = [
        {"_id": _slot_id(pool, n), "claimed_at": utcnow(), "pool": pool, "number": n, "holder": h}
        for h, n in planned.items()
    ]
    try:
        await coll.insert_many(slots, ordered=False)
    except BulkWriteError as e:
        lost = {slots[err["index"]]["holder"] for err in e.details.get("writeErrors", [])}
        return {h: n for h, n in planned.items() if h not in lost}
    return dict(planned)


async def release_slot(coll: AsyncCollection, pool: str, holder: str) -> int | None:
    """Free the holder's slot; returns its number, or None when the holder had none."""
    mine = await coll.find_one({"pool": pool, "holder": holder}, {"number": 1})
    if not mine:
        return None
    result = await coll.delete_one({"_id": mine["_id"], "holder": holder})
    return mine["number"] if result.deleted_count else None


async def setup_slot_indexes(coll: AsyncCollection) -> None:
    # `_id` makes each number single-holder; this one makes each holder single-number, even
    # when the same member double-clicks "报名" and two requests race.
    await coll.create_index([("pool", 1), ("holder", 1)], unique=True)


def _entry_id(account: str, seq: int) -> str:
    return f"{account}#{seq:09d}"


def entry_id(account: str, seq: int) -> str:
    """The `_id` of an account's seq-th entry."""
    return _entry_id(account, seq)


async def open_account(
    coll: AsyncCollection, account: str, amount_fen: int, doc: dict[str, Any] | None = None
) -> bool:
    """Write an account's first entry (a bill, a budget's allocation) under its fixed key.

    True for the one caller that opened it; False when it was open already — so a job that
    runs twice, or on two replicas at once, opens each account once. `append_entry` would not
    do: the loser of a race for entry 1 would append the same amount again as entry 2.
    """
    if not isinstance(amount_fen, int):
        raise TypeError("money is integer fen")
    entry = {
        **(doc or {}),
        "account": account,
        "seq": 1,
        "amount_fen": amount_fen,
        "balance_fen": amount_fen,
    }
    return await claim_once(coll, _entry_id(account, 1), entry)


async def append_entry(
    coll: AsyncCollection,
    account: str,
    amount_fen: int,
    *,
    floor_fen: int | None = 0,
    doc: dict[str, Any] | None = None,
    max_tries: int = 50,
    key: str | None = None,
) -> dict[str, Any] | None:
    """Append to an account's chain of entries (a budget line, a member's dues for a month).

    Each entry takes the next sequence number under a unique `_id` and carries the running
    balance, so two concurrent appends cannot both build on the same balance: the loser's
    insert fails and it reads on. Returns the entry, or None when the balance would fall below
    `floor_fen` (None: no floor). Entries are never edited; a mistake is reversed by another
    entry with the opposite amount.

    With an idempotency `key` (stored as the entry's `key`; give the collection a unique index
    on it, `setup_entry_indexes(keyed=True)`) the entry of the account that already has the key
    is returned instead of appending again: a double-submitted form records one payment, also
    when both requests race (they walk the same chain; the loser reads the winner's entry).

    Only inserts and `_id` reads of entries that exist, so it needs no index but `_id` and is
    cheap on every backend: on FerretDB/SQLite (still selectable) a query on any other field,
    or for an `_id` that is not there, scans the collection (measured at 10,000 entries: 1.2 s
    for a field, 64 ms for a missing `_id`, 2.6 ms for a present one, 5 ms for an insert
    refused as a duplicate); on PostgreSQL equality is indexed but a sort is not. So the chain
    is walked from entry 1 by `_id`, and its end is found by inserting: the insert of entry N
    succeeds exactly when N-1 was the last, i.e. when the balance it builds on is current. The
    cost grows with the account's length, never with the collection's; only a refusal (below
    the floor) reads one missing `_id`, to be sure the chain ends there.
    """
    if not isinstance(amount_fen, int):
        raise TypeError("money is integer fen")
    seq, previous, lost = 1, None, 0
    while lost < max_tries:
        if key is not None and previous is not None and previous.get("key") == key:
            return previous
        balance = previous["balance_fen"] if previous else 0
        new_balance = balance + amount_fen
        if floor_fen is not None and amount_fen < 0 and new_balance < floor_fen:
            following = await coll.find_one({"_id": _entry_id(account, seq)})
            if following is None:
                return None  # the chain ends here, and this balance does not allow it
            seq, previous = seq + 1, following
            continue
        entry = {
            **(doc or {}),
            "account": account,
            "seq": seq,
            "amount_fen": amount_fen,
            "balance_fen": new_balance,
            **({"key": key} if key is not None else {}),
        }
        if await claim_once(coll, _entry_id(account, seq), entry):
            return {"_id": _entry_id(account, seq), **entry}
        following = await coll.find_one({"_id": _entry_id(account, seq)})
        if following is None:
            # Refused on the key, not on the number. Keys are unique in the whole collection:
            # one that another account holds is a caller's mistake, said at once.
            held = await coll.find_one({"key": key}, {"account": 1}) if key else None
            if held is not None and held["account"] != account:
                raise ValueError(f"idempotency key {key!r} belongs to {held['account']}")
            lost += 1  # the entry is being written further along: read on after a moment
            await asyncio.sleep(0.01 * lost)
            continue
        seq, previous = seq + 1, following
    raise RuntimeError(f"too much contention on {account}; try again")


async def setup_entry_indexes(coll: AsyncCollection, *, keyed: bool = False) -> None:
    """`keyed`: every entry of the collection carries an idempotency `key` (unique)."""
    await coll.create_index([("account", 1), ("seq", -1)], unique=True)
    if keyed:
        await coll.create_index("key", unique=True)


class SlotRefused(Exception):
    """A slot's insert was refused by another unique index than its number's."""

    def __init__(self, pool: str, number: int) -> None:
        super().__init__(f"slot {number} of {pool}: another unique field of it is taken")


class SlotPool:
    """Pools of numbered slots `<pool>#000001` … `<pool>#<capacity>`; a slot is its document.

    The unique `_id` is the whole invariant: a number is held by at most one holder, so a
    pool never holds more than `capacity` slots, whatever runs concurrently anywhere. What
    this process knows (numbers it saw taken, numbers it holds back for a take in flight) only
    decides which number to try first:

    - a number taken elsewhere fails its insert and is remembered as taken;
    - a number freed elsewhere is not known here until `refresh`, so this process may believe
      a pool full a little early (its caller then puts the person on the waitlist, and the
      one promoter of the pool gives the freed slot to the head of the waitlist);
    - within the process, numbers are handed out without awaiting in between, so concurrent
      requests never race each other for one number.
    """

    def __init__(self, coll: AsyncCollection) -> None:
        self.coll = coll
        self._taken: dict[str, set[int]] = {}
        self._refreshed: dict[str, float] = {}
        self._in_flight: dict[str, set[int]] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    @staticmethod
    def slot_id(pool: str, number: int) -> str:
        return _slot_id(pool, number)

    async def setup_indexes(self) -> None:
        await self.coll.create_index("pool")

    async def _known(self, pool: str) -> set[int]:
        if pool not in self._taken:
            lock = self._loading.setdefault(pool, asyncio.Lock())
            async with lock:
                if pool not in self._taken:
                    await self.refresh(pool)
        return self._taken[pool]

    async def refresh(self, pool: str) -> set[int]:
        """Read which numbers are taken (one equality query on `pool`); returns them."""
        taken = {d["number"] async for d in self.coll.find({"pool": pool}, {"number": 1})}
        # Numbers picked by a take in flight here stay held back.
        self._taken[pool] = taken | self._in_flight.get(pool, set())
        self._refreshed[pool] = time.monotonic()
        return taken

    def age(self, pool: str) -> float:
        """Seconds since this process last read the pool (infinite: never)."""
        at = self._refreshed.get(pool)
        return float("inf") if at is None else time.monotonic() - at

    async def free(self, pool: str, capacity: int) -> int:
        """How many numbers of 1..capacity this process believes free."""
        known = await self._known(pool)
        return max(capacity - len({n for n in known if n <= capacity}), 0)

    async def take(
        self,
        pool: str,
        capacity: int,
        count: int,
        holder: str,
        doc: dict[str, Any] | None = None,
        each: Callable[[int], dict[str, Any]] | None = None,
    ) -> list[int] | None:
        """Take `count` free numbers of 1..capacity for `holder`, lowest first; all or none.

        `each(i)` adds fields to the i-th slot's document; a unique index on such a field (a
        check-in code) is claimed by the same insert. Returns the numbers, or None when the
        pool has (as far as known) too few free ones; raises `SlotRefused` when another
        unique index than the number refused a slot (nothing stays taken then).
        """
        if count <= 0:
            return []
        known = await self._known(pool)
        got: list[int] = []
        while len(got) < count:
            # Pick without awaiting: the number is known as taken before anyone else looks.
            number = next((n for n in range(1, capacity + 1) if n not in known), None)
            if number is None:
                break
            known.add(number)
            in_flight = self._in_flight.setdefault(pool, set())
            in_flight.add(number)
            slot = {"pool": pool, "number": number, "holder": holder, **(doc or {})}
            if each is not None:
                slot.update(each(len(got)))
            try:
                if await claim_once(self.coll, _slot_id(pool, number), slot):
                    got.append(number)
                elif not await self.coll.find_one({"_id": _slot_id(pool, number)}, {"_id": 1}):
                    known.discard(number)  # free after all: another field was refused
                    await self.release(pool, got, holder)
                    raise SlotRefused(pool, number)
                # else: another process holds it; it stays known as taken
            finally:
                in_flight.discard(number)
            known = self._taken.get(pool, known)  # a refresh meanwhile replaced the set
        if len(got) < count:
            await self.release(pool, got, holder)
            return None
        return got

    async def release(self, pool: str, numbers: Iterable[int], holder: str) -> None:
        """Free the holder's numbers. Call it from one place per pool at a time (the pool's
        promoter, or the taker undoing its own take): a delete is not atomic on FerretDB."""
        numbers = list(numbers)
        for number in numbers:
            await self.coll.delete_one({"_id": _slot_id(pool, number), "holder": holder})
        known = self._taken.get(pool)
        if known is not None:
            known.difference_update(numbers)

    def forget(self, pool: str) -> None:
        """Drop what this process knows of a pool (the next take reads it again)."""
        self._taken.pop(pool, None)
        self._refreshed.pop(pool, None)


class NumberSeries:
    """Numbers 1, 2, 3 … of a series (`<series>#000000001` …), each claimed once, none skipped.

    The next number is remembered per series; a claim that loses (another process took that
    number) moves on by one, so the numbers stay contiguous and their order is claim order —
    a waitlist's FIFO order. A process that has not seen a series yet finds its end by
    probing keys (1, 2, 4, 8 … then halving): O(log n) reads by `_id`, no scan.
    """

    def __init__(self, coll: AsyncCollection) -> None:
        self.coll = coll
        self._next: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @staticmethod
    def key(series: str, number: int) -> str:
        return f"{series}#{number:09d}"

    async def _exists(self, series: str, number: int) -> bool:
        return await self.coll.find_one({"_id": self.key(series, number)}, {"_id": 1}) is not None

    async def last(self, series: str) -> int:
        """The highest number claimed so far (0: none), found by probing."""
        if not await self._exists(series, 1):
            return 0
        low, high = 1, 2
        while await self._exists(series, high):
            low, high = high, high * 2
        while high - low > 1:  # low exists, high does not
            middle = (low + high) // 2
            if await self._exists(series, middle):
                low = middle
            else:
                high = middle
        return low

    async def claim(self, series: str, doc: dict[str, Any] | None = None) -> int:
        """Claim the next number of the series for `doc`; returns it."""
        if series not in self._next:
            async with self._locks.setdefault(series, asyncio.Lock()):
                if series not in self._next:
                    self._next[series] = await self.last(series) + 1
        while True:
            number = self._next[series]
            self._next[series] = number + 1  # taken before awaiting: no race in-process
            entry = {"series": series, "number": number, **(doc or {})}
            if await claim_once(self.coll, self.key(series, number), entry):
                return number

    async def get(self, series: str, number: int) -> dict[str, Any] | None:
        return await self.coll.find_one({"_id": self.key(series, number)})

    def handed_out(self, series: str) -> int:
        """The highest number this process has tried to claim (0: none yet)."""
        return self._next.get(series, 1) - 1

    async def void(self, series: str, number: int) -> None:
        """Say that a claimed number will not be used (its claimer gave it up)."""
        await claim_once(self.coll, f"{self.key(series, number)}#void")

    async def is_void(self, series: str, number: int) -> bool:
        found = await self.coll.find_one({"_id": f"{self.key(series, number)}#void"}, {"_id": 1})
        return found is not None

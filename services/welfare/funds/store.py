"""The books in MongoDB: one chain of entries per ledger, each under its number as `_id`.

Entry N of ledger `main:2026` is the document `main:2026#000000N`, inserted only after its
state was decided from entry N-1. Two posts that race both build on N-1 and both insert
`#N`: the storage engine lets exactly one win (FerretDB updates are not atomic, an insert
under a unique key is), the loser reads the winner's entry and decides again — and may now
be refused ("余额不足"). So twenty concurrent payments can never spend a yuan twice, and a
budget amendment can never slip between a payment's check and its write. No entry is ever
updated or deleted; there is no code here that could.

Each entry also has a unique idempotency `key`: a form sent twice, a dues payment delivered
twice, a reversal asked for twice — the second insert is refused on the key, and the entry
that holds it is answered instead.

The end of a chain is remembered per process and found by reading `_id`s forward from there
(a process that has not seen the ledger probes 1, 2, 4, 8 … then halves): reads by `_id`
only, cheap on every backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.welfare.funds.chart import Chart
from services.welfare.funds.domain import (
    GENESIS,
    THRESHOLD_PCT,
    Anchor,
    Check,
    EntryKind,
    LedgerState,
    Start,
    anchored,
    entry_id,
    entry_in,
    sealed,
    sealed_block,
    unpack,
    verify,
    verify_blocks,
)
from shared.envelope import CloudEvent
from shared.errors import ConcurrencyConflict
from shared.events.welfare import BudgetThresholdReached, LedgerBlockSealed, LedgerEntryPosted
from shared.keyed_tail import Partitions, scan_back
from shared.outbox.writer import Outbox

log = logging.getLogger(__name__)

LEDGER = "fund_ledger"
THRESHOLDS = "fund_thresholds"
BLOCKS = "fund_blocks"
MAX_ENTRIES = 1_000_000  # per ledger and year: far beyond a union's
BLOCK = 1000  # entries per sealed block
WINDOW = 100  # entries after the last block are read by number, this many at once
TRAIL = 8  # the first window past the highest entry known (then doubling up to WINDOW)
KEPT_BLOCKS = 4  # sealed blocks kept unpacked for reading one entry (2–4 MB each)


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[LEDGER].create_index("key", unique=True)
    await db[LEDGER].create_index([("chain", 1), ("seq", 1)], unique=True)
    await db[LEDGER].create_index([("campus", 1), ("year", 1)])
    await db[BLOCKS].create_index([("chain", 1), ("number", 1)], unique=True)


@dataclass(frozen=True)
class Draft:
    """What a post decided on the state before it: the entry's fields and the state after."""

    fields: dict[str, Any]
    state: LedgerState


@dataclass(frozen=True)
class Posted:
    entry: dict[str, Any]
    replayed: bool  # the key was there already: this is the entry that holds it


class Books:
    """The ledgers of one service, and the threshold claims."""

    def __init__(
        self,
        db: AsyncDatabase,
        outbox: Outbox,
        max_tries: int = 200,
        chart: Chart | None = None,
        block: int = BLOCK,
        anchor: Callable[[str, bool], Awaitable[Anchor]] | None = None,
        window: int = WINDOW,
    ) -> None:
        self.coll: AsyncCollection = db[LEDGER]
        self.blocks: AsyncCollection = db[BLOCKS]
        self.chart = chart  # to prove entries before sealing them (None: never seal)
        self.block = block
        self.window = window
        # What a ledger last published on Kafka, its blocks' too when asked (True).
        self.anchor = anchor
        self._sealing: set[asyncio.Task[Any]] = set()
        self.thresholds: AsyncCollection = db[THRESHOLDS]
        self.outbox = outbox
        self.max_tries = max_tries
        self._head: dict[str, int] = {}  # ledger → highest seq known to exist
        # (block id, its hash) → its entries by number, the last KEPT_BLOCKS read by one entry.
        self._unpacked: OrderedDict[tuple[str, str], dict[int, dict[str, Any]]] = OrderedDict()
        # Posts of one process to one ledger take turns: racing each other for the same
        # number would only cost refused inserts. Between replicas the unique key decides.
        self._turns: dict[str, asyncio.Lock] = {}

    # -- reading ---------------------------------------------------------------------------

    async def entry(self, chain: str, seq: int) -> dict[str, Any] | None:
        return await self.coll.find_one({"_id": entry_id(chain, seq)}, {"outbox": 0})

    async def kept_entry(self, chain: str, seq: int) -> dict[str, Any] | None:
        """Entry `seq` as the ledger's record keeps it: from its sealed block once it is in one
        (the block is what the check proves; its row is no longer read), else its row."""
        block_id = f"{chain}@{(seq - 1) // self.block + 1:06d}"
        head = await self.blocks.find_one({"_id": block_id}, {"first": 1, "last": 1, "hash": 1})
        if head is not None and head.get("first", 0) <= seq <= head.get("last", -1):
            held = await self._unpacked_block(block_id, str(head.get("hash")))
            if held is not None and (found := held.get(seq)) is not None:
                return copy.deepcopy(found)  # the kept one stays as unpacked
        return await self.entry(chain, seq)

    async def _unpacked_block(self, block_id: str, hash_: str) -> dict[int, dict[str, Any]] | None:
        """A sealed block's entries by number, unpacked once and kept among the last KEPT_BLOCKS.
        Safe: sealed blocks never change, and the key is the id *with the hash the row holds
        now* (read each call, without the text), so a row replaced by another block (sealed
        again, its hash forged, the database posted anew) is unpacked afresh. A row whose text
        alone is edited may be answered from the copy made before — hiding nothing: the check
        never reads this cache; it reads every block from the database and reports it."""
        key = (block_id, hash_)
        held = self._unpacked.get(key)
        if held is not None:
            self._unpacked.move_to_end(key)
            return held
        block = await self.blocks.find_one({"_id": block_id})
        if block is None:
            return None
        held = {}
        for entry in unpack(bytes(block["packed"])):
            if isinstance(seq := entry.get("seq"), int):
                held.setdefault(seq, entry)  # the first, as `entry_in` finds it
        self._unpacked[(block_id, str(block.get("hash")))] = held
        while len(self._unpacked) > KEPT_BLOCKS:
            self._unpacked.popitem(last=False)
        return held

    async def by_key(self, key: str) -> dict[str, Any] | None:
        return await self.coll.find_one({"key": key}, {"outbox": 0})

    async def _exists(self, chain: str, seq: int) -> bool:
        found = await self.coll.find_one({"_id": entry_id(chain, seq)}, {"_id": 1})
        return found is not None

    async def _probe(self, chain: str) -> int:
        if not await self._exists(chain, 1):
            return 0
        low, high = 1, 2
        while await self._exists(chain, high):
            low, high = high, high * 2
        while high - low > 1:
            middle = (low + high) // 2
            if await self._exists(chain, middle):
                low = middle
            else:
                high = middle
        return low

    async def last(self, chain: str) -> dict[str, Any] | None:
        """The last entry of the ledger as of now (None: it has none)."""
        seq = self._head.get(chain)
        if seq is None:
            seq = await self._probe(chain)
        last = await self.entry(chain, seq) if seq else None
        while True:
            following = await self.entry(chain, seq + 1)
            if following is None:
                break
            seq, last = seq + 1, following
        if seq:
            self._head[chain] = max(self._head.get(chain, 0), seq)
        return last

    async def all_documents(self, chain: str) -> list[dict[str, Any]]:
        """Every entry document of the ledger, in order, read one by one: what sealing many
        blocks at once reads (about 3,000 documents a second on FerretDB)."""
        # Batches bounded by count: FerretDB does not cut a batch at the 48 MB message limit.
        found = self.coll.find({"chain": chain}, {"outbox": 0}).limit(MAX_ENTRIES).batch_size(2000)
        return sorted([d async for d in found], key=lambda d: d["seq"])

    async def block_documents(self, chain: str) -> list[dict[str, Any]]:
        found = self.blocks.find({"chain": chain}).batch_size(20)
        return sorted([d async for d in found], key=lambda d: d["number"])

    async def tail(self, chain: str, after: int, until: int = 0) -> list[dict[str, Any]]:
        """The entries after `after`, read by number (`_id`, which every backend finds
        directly): whole windows up to the highest number known to exist (`until`, or the
        highest this process has seen), then windows growing from TRAIL until one finds
        none. A gap is kept (the check names it); a ledger cut off at the end is what the
        check finds by comparing with the last entry published. (One window of WINDOW past
        the end every time made a ledger page 100–200 reads, most of them for nothing.)"""
        known = max(until, self._head.get(chain, 0))
        out: list[dict[str, Any]] = []
        start, past = after + 1, TRAIL
        while start <= MAX_ENTRIES:
            beyond = start > known
            size = past if beyond else self.window
            window = await asyncio.gather(
                *(self.entry(chain, seq) for seq in range(start, start + size))
            )
            found = [d for d in window if d is not None]
            if not found and beyond:
                break
            out.extend(found)
            start += size
            if beyond:
                past = min(self.window, past * 2)
        if out:
            self._head[chain] = max(self._head.get(chain, 0), out[-1]["seq"])
        return out

    async def entries(self, chain: str) -> list[dict[str, Any]]:
        """Every entry of the ledger, in order (the summary, the list, the export): those
        of the sealed blocks from the blocks, the rest by number."""
        proven = verify_blocks(chain, await self.block_documents(chain))
        return proven.entries() + await self.tail(chain, proven.start.seq - 1)

    async def check(self, chain: str) -> Check:
        """The ledger proven: the blocks by their hash chain, the entries after them one by
        one (sealing first what can be sealed)."""
        assert self.chart is not None
        proven = verify_blocks(chain, await self.block_documents(chain))
        anchor, unanchored = await self._anchor(chain, bool(proven.blocks))
        until = anchor.seq or 0
        tail = await self.tail(chain, proven.start.seq - 1, until)
        if len(tail) >= self.block and not proven.findings and await self.seal(chain):
            proven = verify_blocks(chain, await self.block_documents(chain))
            tail = await self.tail(chain, proven.start.seq - 1, until)
        targets = {
            e["reverses"]
            for e in tail
            if e.get("kind") == EntryKind.reversal.value
            and isinstance(e.get("reverses"), int)
            and e["reverses"] < proven.start.seq
        }
        start = replace(proven.start, reversible=proven.originals(targets))
        found = verify(chain, tail, self.chart, start)
        found.findings[:0] = proven.findings
        found.entries += proven.count
        hash_at = {e["seq"]: e.get("hash", "") for e in tail}
        if anchor.seq is not None and anchor.seq < proven.start.seq:  # sealed since
            block = next((b for b in proven.blocks if b["first"] <= anchor.seq <= b["last"]), {})
            held = entry_in(block, anchor.seq) if block else None
            hash_at = {anchor.seq: held["hash"]} if held else {}
        anchored(found, anchor, hash_at, [(b["first"], b["hash"]) for b in proven.blocks])
        if found.intact and found.anchored_seq is None:
            found.unanchored = unanchored or "尚无已发布的记录，或已超过保留期"
        return found

    async def _anchor(self, chain: str, blocks: bool) -> tuple[Anchor, str]:
        """What the ledger last published, or why there is nothing to compare with."""
        if self.anchor is None:
            return Anchor(), "未配置"
        try:
            return await self.anchor(chain, blocks), ""
        except Exception as exc:  # Kafka unreachable: the check still proves the rest
            log.warning("ledger check: the published entries of %s cannot be read: %r", chain, exc)
            return Anchor(), "消息队列暂不可用"

    async def seal(self, chain: str) -> int:
        """Seal every complete block of proven entries not sealed yet; stops at the first
        block whose entries do not prove out (the check reports them). Returns how many."""
        assert self.chart is not None
        blocks = await self.block_documents(chain)
        proven = verify_blocks(chain, blocks)
        if proven.findings:
            return 0
        start = proven.start
        previous = blocks[-1]["hash"] if blocks else GENESIS
        after = start.seq - 1
        head = (await self.last(chain) or {}).get("seq", 0)
        if head - after < self.block:
            return 0
        if head - after > 4 * self.block:  # many at once: one query beats reading by number
            pending = [d for d in await self.all_documents(chain) if d["seq"] > after]
        else:
            pending = await self.tail(chain, after)
        if any(
            e.get("kind") == EntryKind.reversal.value and (e.get("reverses") or 0) <= after
            for e in pending
        ):
            targets = {e["reverses"] for e in pending if e.get("kind") == EntryKind.reversal.value}
            start = replace(start, reversible=proven.originals(targets))
        made = 0
        number = len(blocks) + 1
        while len(pending) >= self.block:
            part, pending = pending[: self.block], pending[self.block :]
            if [d["seq"] for d in part] != list(range(start.seq, start.seq + self.block)):
                break
            proven_part = verify(chain, part, self.chart, start)
            if not proven_part.intact:
                break
            doc = sealed_block(chain, number, part, proven_part, previous)
            try:
                await self.outbox.insert(
                    BLOCKS,
                    doc,
                    [_block_sealed(doc, part[0])],
                    subject=doc["_id"],
                    campus=part[0]["campus"],
                    partition_key=chain,
                )
            except DuplicateKeyError:  # another task or replica sealed it: go on from there
                return made + await self.seal(chain)
            made, number, previous = made + 1, number + 1, doc["hash"]
            reversible = dict(start.reversible) if made == 1 else start.reversible
            reversible.update(  # what later reversals in this run may point at
                (e["seq"], (e.get("kind"), e.get("line"), e.get("amount_fen")))
                for e in part
                if e.get("kind") in (EntryKind.income.value, EntryKind.payment.value)
            )
            start = Start(
                proven_part.head_seq + 1,
                proven_part.head_hash,
                proven_part.state,
                proven_part.reversed_seqs,
                reversible,
            )
        return made

    def _seal_later(self, chain: str) -> None:
        """After the post that completes a block: seal it in the background (the check seals
        whatever this did not)."""
        if self.chart is None:
            return

        async def run() -> None:
            with contextlib.suppress(Exception):
                await self.seal(chain)

        task = asyncio.get_running_loop().create_task(run())
        self._sealing.add(task)
        task.add_done_callback(self._sealing.discard)

    async def campuses(self, year: int, scope: dict[str, Any]) -> list[str]:
        """The campuses with a ledger that year, within `scope` (the caller's campus filter):
        every ledger has entry 1, so its first entries name them all."""
        found = self.coll.find({"year": year, "seq": 1, **scope}, {"campus": 1})
        return sorted({d["campus"] async for d in found})

    # -- writing ---------------------------------------------------------------------------

    async def post(
        self,
        chain: str,
        key: str,
        decide: Callable[[dict[str, Any] | None], Draft],
    ) -> Posted:
        """Append the entry `decide` makes of the last one; once per `key`.

        `decide` raises a DomainError to refuse; it runs again on the new last entry each time
        another post wins the race for the next number.
        """
        async with self._turns.setdefault(chain, asyncio.Lock()):
            return await self._post(chain, key, decide)

    async def _post(
        self,
        chain: str,
        key: str,
        decide: Callable[[dict[str, Any] | None], Draft],
    ) -> Posted:
        for attempt in range(self.max_tries):
            previous = await self.last(chain)
            draft = decide(previous)
            seq = previous["seq"] + 1 if previous else 1
            doc = sealed(
                {
                    "_id": entry_id(chain, seq),
                    "chain": chain,
                    "seq": seq,
                    "key": key,
                    **draft.fields,
                    "state": draft.state.model_dump(),
                },
                previous,
            )
            try:
                await self.outbox.insert(
                    LEDGER,
                    doc,
                    [_posted(doc)],
                    subject=doc["_id"],
                    campus=doc["campus"],
                    version=seq,
                    partition_key=chain,
                )
            except DuplicateKeyError:
                if await self._exists(chain, seq):
                    # Another post took this number: decide again on its entry.
                    self._head[chain] = max(self._head.get(chain, 0), seq)
                    await asyncio.sleep(random.uniform(0, 0.004) * min(attempt + 1, 10))
                    continue
                held = await self.by_key(key)
                if held is not None:
                    return Posted(held, replayed=True)
                await asyncio.sleep(0.01)  # refused on a key being written: read again
                continue
            self._head[chain] = max(self._head.get(chain, 0), seq)
            if seq % self.block == 0:
                self._seal_later(chain)
            return Posted(doc, replayed=False)
        raise ConcurrencyConflict(chain)

    async def announce_threshold(self, entry: dict[str, Any]) -> bool:
        """Publish `welfare.budget.threshold_reached.v1` for the entry's line once per line,
        year, campus and threshold: a unique-key insert carries the event, so of many
        payments that cross the line together exactly one announces it. True: this one did.

        Called after every payment that leaves the line at or over the threshold (not only
        the one that crossed it), so an announcement lost to a crash is made by the next."""
        state = LedgerState.model_validate(entry["state"])
        line = entry["line"]
        key = f"{entry['chain']}:{line}:{THRESHOLD_PCT}"
        event = BudgetThresholdReached(
            campus=entry["campus"],
            year=entry["year"],
            line=line,
            threshold_pct=THRESHOLD_PCT,
            budget_fen=state.budget.get(line, 0),
            spent_fen=state.spent.get(line, 0),
            seq=entry["seq"],
        )
        doc = {"_id": key, "entry": entry["_id"], "at": entry["at"]}
        try:
            await self.outbox.insert(THRESHOLDS, doc, [event], subject=key, campus=entry["campus"])
        except DuplicateKeyError:
            return False
        return True


def _block_sealed(block: dict[str, Any], first: dict[str, Any]) -> LedgerBlockSealed:
    return LedgerBlockSealed(
        campus=first["campus"],
        year=first["year"],
        number=block["number"],
        first=block["first"],
        last=block["last"],
        hash=block["hash"],
    )


def _posted(doc: dict[str, Any]) -> LedgerEntryPosted:
    kind = EntryKind(doc["kind"])
    return LedgerEntryPosted(
        entry_id=doc["_id"],
        campus=doc["campus"],
        year=doc["year"],
        seq=doc["seq"],
        kind=kind.value,
        line=doc.get("line"),
        amount_fen=doc["amount_fen"],
        reverses=doc.get("reverses"),
        occurred_on=doc.get("occurred_on"),
        hash=doc["hash"],
    )


def published_head(bootstrap: str, topic: str) -> Callable[[str, bool], Awaitable[Anchor]]:
    """What each ledger last published on `topic` (its events are keyed by the ledger, so
    they are one partition's, in order): its last entry, and its last sealed block when
    asked. The check's anchor outside the database. The topic's partitions are asked of
    the broker once, for the life of the service (`Partitions` says why that is safe)."""
    partitions = Partitions(bootstrap)

    async def head(chain: str, blocks: bool) -> Anchor:
        found: dict[str, Any] = {}

        def visit(value: bytes) -> bool:
            try:
                event = CloudEvent.from_json_bytes(value)
            except ValueError:
                return False
            if event.type == LedgerEntryPosted.type and "entry" not in found:
                found["entry"] = (int(event.data["seq"]), str(event.data["hash"]))
            elif event.type == LedgerBlockSealed.type and "block" not in found:
                found["block"] = (int(event.data["number"]), str(event.data["hash"]))
            return "entry" in found and ("block" in found or not blocks)

        await scan_back(bootstrap, topic, chain, visit, partitions=partitions)
        seq, entry_hash_ = found.get("entry", (None, None))
        number, block_hash_ = found.get("block", (None, None))
        return Anchor(seq, entry_hash_, number, block_hash_)

    return head

"""The dues ledger in MongoDB: one append-only chain of entries per member and month.

Entry 1 of account `<YYYY-MM>:<member id>` is the month's bill, written by `open_account`
under its fixed `_id`: generating a month twice, or on two replicas at once, bills once.
Payments and reversals are `append_entry` links with a running balance (what is still owed)
and an idempotency `key` under a unique index: a double-submitted form records once. Each
also carries the local date it was recorded on (`recorded_on`, indexed), by which a repair
run finds the ones a crash left unannounced (`unannounced`).
No entry is ever updated or deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.members.dues.domain import (
    AnnounceWindow,
    Bill,
    BillStatus,
    DuesPolicy,
    Entry,
    EntryKind,
    PaymentMethod,
    account_of,
    bills_of,
    recorded_on,
    status_matches,
)
from services.members.membership.domain import Member
from shared.aggregate import Actor
from shared.claims import append_entry, entry_id, open_account, setup_entry_indexes
from shared.events import IntegrationEvent
from shared.mongo import find_by_ids, find_in
from shared.outbox import Outbox
from shared.timeutil import utcnow

LEDGER = "dues_ledger"
ANNOUNCED = "dues_announced"  # one document per payment or reversal, carrying its event


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_entry_indexes(db[LEDGER], keyed=True)
    await db[LEDGER].create_index([("campus", 1), ("month", 1)])
    await db[LEDGER].create_index([("member_id", 1), ("month", 1)])
    await db[LEDGER].create_index([("month", 1), ("staff_no", 1), ("seq", 1)])
    await db[LEDGER].create_index("recorded_on")  # payments and reversals, by day: `unannounced`


def _entry(doc: dict[str, Any]) -> Entry:
    paid_on = doc.get("paid_on")
    method = doc.get("method")
    return Entry(
        month=doc["month"],
        member_id=doc["member_id"],
        seq=doc["seq"],
        kind=EntryKind(doc["kind"]),
        amount_fen=doc["amount_fen"],
        balance_fen=doc["balance_fen"],
        at=doc["at"],
        by=doc["by"],
        staff_no=doc.get("staff_no", ""),
        name=doc.get("name", ""),
        campus=doc.get("campus", ""),
        department=doc.get("department", ""),
        paid_on=date.fromisoformat(paid_on) if paid_on else None,
        method=PaymentMethod(method) if method else None,
        note=doc.get("note"),
        reverses=doc.get("reverses"),
    )


@dataclass(frozen=True)
class BillFilter:
    """Which bills a list or a report covers. Every entry carries its bill's month, member,
    campus and department, so `query()` selects a bill's whole chain of entries."""

    campuses: Collection[str] | None = None  # None: every campus
    member_id: str | None = None
    month: str | None = None  # one month; else the range below (either end may be open)
    month_from: str | None = None
    month_to: str | None = None
    department: str | None = None  # the department the bill was made out to
    status: BillStatus | Literal["owing"] | None = None  # owing: unpaid or partial

    def query(self) -> dict[str, Any]:
        """The MongoDB filter on entries (the status is a bill's last balance: see `page`).

        One campus is an equality, which FerretDB hands to its storage (and an index); `$in`
        it filters itself (as Principal.campus_filter)."""
        query: dict[str, Any] = {}
        if self.campuses is not None:
            campuses = sorted(self.campuses)
            query["campus"] = campuses[0] if len(campuses) == 1 else {"$in": campuses}
        if self.member_id is not None:
            query["member_id"] = self.member_id
        if self.month is not None:
            query["month"] = self.month
        else:
            months = {
                op: value
                for op, value in (("$gte", self.month_from), ("$lte", self.month_to))
                if value
            }
            if months:
                query["month"] = months
        if self.department is not None:
            query["department"] = self.department
        return query


@dataclass(frozen=True)
class BillsFound:
    """One page of bills, with the count and the sums of every bill the filter selects."""

    items: list[Bill]
    total: int
    due_fen: int
    paid_fen: int
    owed_fen: int


BILL_ORDER = [("campus", 1), ("staff_no", 1), ("month", 1)]  # as domain.bills_of sorts


class Ledger:
    """The dues ledger and the policy bills are computed by."""

    def __init__(self, db: AsyncDatabase, policy: DuesPolicy, outbox: Outbox | None = None) -> None:
        self.coll: AsyncCollection = db[LEDGER]
        self.announced: AsyncCollection = db[ANNOUNCED]
        self.policy = policy
        self.outbox = outbox

    async def announce(self, entry: Entry, event: IntegrationEvent) -> bool:
        """Publish what a payment or reversal recorded (welfare books it), once: a document
        under the entry's id carries the event through the outbox. Called for a replayed
        request too, so a retry announces what a crash between the two inserts left out (and
        the repair job, `repair.announce_job`, what no retry came for). True when this call
        announced it; False when it was announced already."""
        if self.outbox is None:
            return False
        doc = {"_id": entry_id(account_of(entry.month, entry.member_id), entry.seq), "at": utcnow()}
        try:
            await self.outbox.insert(
                ANNOUNCED, doc, [event], subject=entry.member_id, campus=entry.campus
            )
        except DuplicateKeyError:
            return False  # announced already
        return True

    async def unannounced(self, window: AnnounceWindow) -> list[Entry]:
        """The payments and reversals recorded in the window that were never announced, by
        account and sequence (a payment before its reversal).

        Cheap on FerretDB, which hands only equality to its storage (a range on `at` would
        read the whole ledger): the window's entries are asked for day by day through the
        `recorded_on` index, three fields each; which of them were announced is looked up by
        `_id` (an announcement is under its entry's id); only the rest are read whole.
        (Entries recorded before `recorded_on` existed have none: only a retry repairs them.)"""
        fields = {"_id": 1, "kind": 1, "at": 1}
        kinds = (EntryKind.payment.value, EntryKind.reversal.value)
        recorded = [
            d["_id"]
            for d in await find_in(self.coll, "recorded_on", window.days, fields)
            if d.get("kind") in kinds and window.holds(d["at"])
        ]
        announced = await find_by_ids(self.announced, recorded, {"_id": 1})
        missing = await find_by_ids(self.coll, (i for i in recorded if i not in announced))
        return [_entry(missing[i]) for i in sorted(missing)]  # `account#seq`, seq zero-padded

    async def open_bill(self, member: Member, month: str, amount_fen: int, actor: Actor) -> bool:
        """Bill the member's month; False when it was billed already (by anyone)."""
        account = account_of(month, member.id)
        return await open_account(
            self.coll,
            account,
            amount_fen,
            {
                "key": f"bill:{account}",
                "kind": EntryKind.bill.value,
                "month": month,
                "member_id": member.id,
                "staff_no": member.staff_no,
                "name": member.name,
                "campus": member.campus,
                "department": member.department,
                "rate_bp": self.policy.rate_bp,
                "rounding": self.policy.rounding.value,
                "at": utcnow(),
                "by": actor.subject,
                "request": actor.request,
            },
        )

    async def bill(self, month: str, member_id: str) -> Entry | None:
        doc = await self.coll.find_one({"_id": entry_id(account_of(month, member_id), 1)})
        return _entry(doc) if doc else None

    async def bill_by_staff_no(self, month: str, staff_no: str) -> Entry | None:
        doc = await self.coll.find_one({"month": month, "staff_no": staff_no, "seq": 1})
        return _entry(doc) if doc else None

    async def entry(self, month: str, member_id: str, seq: int) -> Entry | None:
        doc = await self.coll.find_one({"_id": entry_id(account_of(month, member_id), seq)})
        return _entry(doc) if doc else None

    async def append(
        self,
        bill: Entry,
        kind: EntryKind,
        amount_fen: int,
        key: str,
        actor: Actor,
        **fields: Any,
    ) -> tuple[Entry | None, bool]:
        """Append a payment (negative, never below 0 owed) or a reversal (positive) to the
        bill's account. Returns (the entry, whether it was there already under `key`); the
        entry is None when a payment would pay more than is owed."""
        attempt = uuid.uuid4().hex
        now = utcnow()
        doc = {
            "kind": kind.value,
            "month": bill.month,
            "member_id": bill.member_id,
            "staff_no": bill.staff_no,
            "name": bill.name,
            "campus": bill.campus,
            "department": bill.department,
            "at": now,
            "recorded_on": recorded_on(now),
            "by": actor.subject,
            "request": actor.request,
            "attempt": attempt,
            **{k: v for k, v in fields.items() if v is not None},
        }
        written = await append_entry(
            self.coll,
            account_of(bill.month, bill.member_id),
            amount_fen,
            floor_fen=0 if amount_fen < 0 else None,
            doc=doc,
            key=key,
        )
        if written is None:
            return None, False
        return _entry(written), written.get("attempt") != attempt

    async def by_key(self, key: str) -> Entry | None:
        doc = await self.coll.find_one({"key": key})
        return _entry(doc) if doc else None

    async def entries(self, query: dict[str, Any], limit: int = 500_000) -> list[Entry]:
        return [_entry(d) async for d in self.coll.find(query).limit(limit)]

    async def chain(self, bill: Entry) -> Bill:
        """The bill with every entry of its account."""
        [found] = bills_of(await self.entries({"account": account_of(bill.month, bill.member_id)}))
        return found

    async def bills(self, which: BillFilter, *, newest_first: bool = False) -> list[Bill]:
        """Every bill the filter selects, with its entries (for reports: no paging), by
        campus and staff number, or a member's newest month first."""
        found = [
            b
            for b in bills_of(await self.entries(which.query()))
            if which.status is None or status_matches(which.status, b.due_fen, b.owed_fen)
        ]
        if newest_first:
            found.sort(key=lambda b: b.bill.month, reverse=True)
        return found

    async def page(self, which: BillFilter, offset: int, limit: int) -> BillsFound:
        """Bills `offset`..`offset + limit` by campus, staff number and month, with the count
        and sums of all the filter selects.

        The sums need each selected bill's due and last balance: read as a few fields of
        every matching entry, never whole bills. The status (a bill's last balance) cannot
        be matched by the query itself (FerretDB 1.x's $group has no $first/$last, and it has
        no $cond or $expr), so it picks accounts from those figures; the page is then one
        sorted query with skip and limit, and only its bills' entries are read in full."""
        query = which.query()
        due: dict[str, int] = {}
        last: dict[str, tuple[int, int]] = {}  # account -> (seq, balance) of its last entry
        fields = {"_id": 0, "account": 1, "seq": 1, "kind": 1, "amount_fen": 1, "balance_fen": 1}
        async for e in self.coll.find(query, fields):
            if e["seq"] == 1 and e["kind"] == EntryKind.bill.value:
                due[e["account"]] = e["amount_fen"]
            if e["seq"] > last.get(e["account"], (0, 0))[0]:
                last[e["account"]] = (e["seq"], e["balance_fen"])
        chosen = {
            account: (due_fen, last[account][1])
            for account, due_fen in due.items()
            if which.status is None or status_matches(which.status, due_fen, last[account][1])
        }
        page_query = {**query, "seq": 1, "kind": EntryKind.bill.value}
        if which.status is not None:
            page_query["account"] = {"$in": sorted(chosen)}
        cursor = self.coll.find(page_query, {"account": 1}).sort(BILL_ORDER)
        accounts = [d["account"] async for d in cursor.skip(offset).limit(limit)]
        # By account (indexed), not `$in`: FerretDB would read the whole ledger, every month.
        page = await find_in(self.coll, "account", accounts)
        items = bills_of([_entry(d) for d in page])
        place = {account: i for i, account in enumerate(accounts)}
        items.sort(key=lambda b: place[account_of(b.bill.month, b.bill.member_id)])
        return BillsFound(
            items=items,
            total=len(chosen),
            due_fen=sum(d for d, _ in chosen.values()),
            paid_fen=sum(d - o for d, o in chosen.values()),
            owed_fen=sum(o for _, o in chosen.values()),
        )

"""The dues ledger in MongoDB: one append-only chain of entries per member and month.

Entry 1 of account `<YYYY-MM>:<member id>` is the month's bill, written by `open_account`
under its fixed `_id`: generating a month twice, or on two replicas at once, bills once.
Payments and reversals are `append_entry` links with a running balance (what is still owed)
and an idempotency `key` under a unique index: a double-submitted form records once.
No entry is ever updated or deleted.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.members.dues.domain import (
    DuesPolicy,
    Entry,
    EntryKind,
    PaymentMethod,
    account_of,
)
from services.members.membership.domain import Member
from shared.aggregate import Actor
from shared.claims import append_entry, entry_id, open_account, setup_entry_indexes
from shared.events import IntegrationEvent
from shared.outbox import Outbox
from shared.timeutil import utcnow

LEDGER = "dues_ledger"
ANNOUNCED = "dues_announced"  # one document per payment or reversal, carrying its event


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_entry_indexes(db[LEDGER], keyed=True)
    await db[LEDGER].create_index([("campus", 1), ("month", 1)])
    await db[LEDGER].create_index([("member_id", 1), ("month", 1)])
    await db[LEDGER].create_index([("month", 1), ("staff_no", 1), ("seq", 1)])


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


class Ledger:
    """The dues ledger and the policy bills are computed by."""

    def __init__(self, db: AsyncDatabase, policy: DuesPolicy, outbox: Outbox | None = None) -> None:
        self.coll: AsyncCollection = db[LEDGER]
        self.policy = policy
        self.outbox = outbox

    async def announce(self, entry: Entry, event: IntegrationEvent) -> None:
        """Publish what a payment or reversal recorded (welfare books it), once: a document
        under the entry's id carries the event through the outbox. Called for a replayed
        request too, so a retry announces what a crash between the two inserts left out."""
        if self.outbox is None:
            return
        doc = {"_id": entry_id(account_of(entry.month, entry.member_id), entry.seq), "at": utcnow()}
        try:
            await self.outbox.insert(
                ANNOUNCED, doc, [event], subject=entry.member_id, campus=entry.campus
            )
        except DuplicateKeyError:
            pass  # announced already

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
        doc = {
            "kind": kind.value,
            "month": bill.month,
            "member_id": bill.member_id,
            "staff_no": bill.staff_no,
            "name": bill.name,
            "campus": bill.campus,
            "department": bill.department,
            "at": utcnow(),
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

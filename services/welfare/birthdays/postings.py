"""Birthday money on the ledger (生日慰问) by batch: which batch pays each benefit, and each
batch's one payment on its campus's ledger.

Why batches: a campus's ledger is a hash chain, each entry decided on the one before, so its
posts take turns (some 50 a second) whatever runs at once; one entry per benefit made the
monthly run as slow as the chain, for thousands of entries no finance office would book — it
books birthday money as one voucher per batch ("2026-12 生日慰问 250 人"). So a run groups the
benefits it makes by campus, and each group is a batch, named by its content (`batch_key`):

1. Its manifest — the benefits (and amounts) it was made for — under the key: the same
   document whoever writes it first (`claim_once`).
2. A claim per benefit (`welfare_birthday_postings`, `_id` = the benefit): one unique-key
   insert each, all in one unordered `insert_many`. A benefit whose claim exists already is
   held by whoever holds it: a twin run's batch (the same month on two replicas at once), or
   the batch of a run that stopped.
3. The claims read back: the batch's members are exactly the benefits whose claim names its
   key. That is final once the manifest's claims are all in — only the manifest's benefits can
   name the key, and no claim is ever changed or deleted — so whoever reads after inserting
   them (the run, a twin, a repair) finds the same members and the same amount.
4. The payment: `pay_benefit` under the key, the sum of the members' amounts, once however
   often or concurrently asked (the books keep one entry per key).

A batch held by another run (step 2) is paid the same way from its manifest, so every batch a
run's benefits are in is posted before they are made (pay first, then make: a benefit is never
made and forgotten by the ledger).

Repair: a run that stops between its manifest and its payment leaves a batch with no entry;
one the budget refuses (`funds.no_budget` / `funds.over_budget`) leaves all its benefits
未记账. `settle_month` — at the start of every run, and in the daily job for the current
Beijing month — posts every batch of the month whose key has no entry, its claims completed
from its manifest first (a run stopped halfway through its inserts is completed, not paid
short), with the amount of its claims.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.welfare.birthdays.domain import (
    LEDGER_LINE,
    Booking,
    batch_cause,
    batch_key,
    batch_ref,
    booked_on,
)
from services.welfare.funds.benefits import benefit_paid, pay_benefit
from services.welfare.funds.handlers import Funds
from shared.aggregate import Actor
from shared.claims import claim_once
from shared.errors import DomainError
from shared.mongo import each, find_by_ids
from shared.timeutil import local_today, utcnow

POSTINGS = "welfare_birthday_postings"  # a claim per benefit: the batch that pays it
BATCHES = "welfare_birthday_batches"  # a manifest per batch: the benefits it was made for
# What the budget answers a payment it refuses: the batch says so and waits for a later run.
BUDGET_REFUSALS = frozenset({"funds.no_budget", "funds.over_budget"})
APPROVED_BY = "工会生日慰问标准"
IN_FLIGHT = 4  # batches settled at once (one ledger per campus: its posts take turns)
DUPLICATE_KEY = 11000


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[POSTINGS].create_index("batch")  # a batch's claims without its manifest
    await db[BATCHES].create_index("month")  # the month's batches, for the repair


@dataclass(frozen=True)
class Batch:
    """Benefits of one month and campus paid by one entry: (benefit id, amount in fen)."""

    key: str
    campus: str
    month: str
    benefits: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, campus: str, month: str, benefits: list[tuple[str, int]]) -> Batch:
        key = batch_key(campus, month, benefits)
        return cls(key, campus, month, tuple(sorted(set(benefits))))

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Batch:
        made = tuple((b["id"], b["amount_fen"]) for b in doc["benefits"])
        return cls(doc["_id"], doc["campus"], doc["month"], made)

    def manifest(self) -> dict[str, Any]:
        benefits = [{"id": i, "amount_fen": fen} for i, fen in self.benefits]
        return {"campus": self.campus, "month": self.month, "benefits": benefits}


@dataclass(frozen=True)
class Claim:
    """A benefit's place: the batch that pays it, and what it pays for it."""

    benefit_id: str
    batch: str
    campus: str
    month: str
    amount_fen: int

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Claim:
        fields = (doc["batch"], doc["campus"], doc["month"], doc["amount_fen"])
        return cls(doc["_id"], *fields)


def batches_of(month: str, made: list[tuple[str, str, int]]) -> list[Batch]:
    """A run's benefits (id, campus, amount) as batches: one per campus."""
    by_campus: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for benefit_id, campus, amount_fen in made:
        by_campus[campus].append((benefit_id, amount_fen))
    return [Batch.of(campus, month, found) for campus, found in sorted(by_campus.items())]


@dataclass(frozen=True)
class Postings:
    """The claims, the manifests, and the ledgers the batches are paid on."""

    db: AsyncDatabase
    funds: Funds

    @property
    def claims(self) -> AsyncCollection:
        return self.db[POSTINGS]

    @property
    def batches(self) -> AsyncCollection:
        return self.db[BATCHES]

    async def claim(self, batches: list[Batch]) -> dict[str, Claim]:
        """Each batch's manifest, then a claim of each of its benefits for it; the claims as
        read back, by benefit (whichever batch holds each)."""
        await each(batches, lambda b: claim_once(self.batches, b.key, b.manifest()))
        at = utcnow()
        docs = [
            {
                "_id": benefit_id,
                "batch": b.key,
                "campus": b.campus,
                "month": b.month,
                "amount_fen": fen,
                "claimed_at": at,
            }
            for b in batches
            for benefit_id, fen in b.benefits
        ]
        if not docs:
            return {}
        try:
            await self.claims.insert_many(docs, ordered=False)
        except BulkWriteError as e:
            # A duplicate key: the benefit is held by whoever holds it. Anything else is not.
            if any(err.get("code") != DUPLICATE_KEY for err in e.details.get("writeErrors", [])):
                raise
        found = await find_by_ids(self.claims, [d["_id"] for d in docs])
        return {i: Claim.of(d) for i, d in found.items()}

    async def manifest(self, key: str) -> Batch | None:
        found = await self.batches.find_one({"_id": key})
        return Batch.from_doc(found) if found is not None else None

    async def pay(self, key: str, members: list[Claim], actor: Actor) -> Booking:
        """The batch's payment on its campus's ledger (line 生日慰问), once per key however often
        or concurrently asked. A refusal of the budget is answered, not raised."""
        held = await benefit_paid(self.funds, key)
        if held is not None:
            return Booking(held["seq"], batch=key)
        first = members[0]
        try:
            posted = await pay_benefit(
                self.funds,
                actor,
                campus=first.campus,
                year=int(first.month[:4]),
                line=LEDGER_LINE,
                amount_fen=sum(c.amount_fen for c in members),
                cause=batch_cause(first.month, len(members)),
                cause_ref=batch_ref(key),
                approved_by=APPROVED_BY,
                occurred_on=booked_on(first.month, local_today()),
                key=key,
            )
        except DomainError as refused:
            if refused.code not in BUDGET_REFUSALS:
                raise
            # The budget is asked before the key: a twin that posted the batch meanwhile may
            # be refused on what it spent itself — it is on the ledger, and that is the answer.
            held = await benefit_paid(self.funds, key)
            if held is not None:
                return Booking(held["seq"], batch=key)
            return Booking(None, refused.code, refused.message, batch=key)
        return Booking(posted.entry["seq"], batch=key)

    async def settle(self, key: str, actor: Actor, known: dict[str, Claim]) -> Booking | None:
        """Batch `key` paid. Its members from the claims `known` (as read) when they cover its
        whole manifest — every benefit of it is claimed, so its members are final — else from
        its claims completed from its manifest first (a batch without one: its claims as they
        are). None: it pays for nothing (a twin's batches hold all its benefits)."""
        batch = await self.manifest(key)
        if batch is None:
            found = await self.claims.find({"batch": key}).to_list()
            claims = {d["_id"]: Claim.of(d) for d in found}
        elif all(i in known for i, _ in batch.benefits):
            claims = known
        else:
            claims = await self.claim([batch])
        members = sorted((c for c in claims.values() if c.batch == key), key=lambda c: c.benefit_id)
        return await self.pay(key, members, actor) if members else None

    async def book(self, claims: dict[str, Claim], actor: Actor) -> dict[str, Booking]:
        """Every batch the claims name paid (a twin's too): the answer for each, by key."""
        keys = sorted({c.batch for c in claims.values()})
        settled = await each(keys, lambda k: self.settle(k, actor, claims), in_flight=IN_FLIGHT)
        return {k: b for k, b in zip(keys, settled, strict=True) if b is not None}

    async def settle_month(self, month: str, actor: Actor) -> dict[str, Booking]:
        """Every batch of the month paid where the budget allows: those with an entry are
        answered with it, those without (a run stopped before paying, a refusal since
        amended) posted now. The answer for each, by key."""
        found = await self.batches.find({"month": month}, {"_id": 1}).to_list()

        async def one(key: str) -> Booking | None:
            held = await benefit_paid(self.funds, key)
            if held is not None:
                return Booking(held["seq"], batch=key)
            return await self.settle(key, actor, {})

        keys = [d["_id"] for d in found]
        settled = await each(keys, one, in_flight=IN_FLIGHT)
        return {k: b for k, b in zip(keys, settled, strict=True) if b is not None}

    async def claims_of(self, benefit_ids: list[str]) -> dict[str, Claim]:
        found = await find_by_ids(self.claims, benefit_ids)
        return {i: Claim.of(d) for i, d in found.items()}

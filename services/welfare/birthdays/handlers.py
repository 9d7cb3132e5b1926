"""Birthday use cases: the monthly run (a scheduled job), the member's choice, the default.

The run is safe twice and on two replicas at once: each benefit's id is the member and year
(a unique key: `add_many` writes each once), each benefit's cap claim carries that id (a
keyed claim counts once), and its money is paid in exactly one batch on the campus's ledger
(postings.py: a unique claim per benefit, one entry per batch key). A member whose birthday
cap for the year is used up gets none.

A run pays before it makes (`offer`): it claims its benefits for its campus batches, pays
every batch they are in, then writes the benefits with what the ledger answered (已记账 第 N
笔 of batch K, or 未记账 and why). A run that stops in between posts nothing twice when run
again (the keys), and a benefit is never left made and forgotten by the ledger.

The payment goes through the funds API other welfare areas pay with (`pay_benefit`: the
line's budget checked, 409 `funds.no_budget` / `funds.over_budget`, a hash-chained entry).
A refused batch leaves its benefits made, 未记账 with the refusal's words (their cap claims
stand: the benefits are the members'); every run of the month — `run_now` once the budget is
amended — and the daily job (for the current Beijing month) first post the month's batches
that have no entry (`post_unposted`), once, and mark their benefits 已记账 (补记).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.birthdays import postings
from services.welfare.birthdays.domain import (
    BenefitStatus,
    BirthdayBenefit,
    BirthdayGift,
    Booking,
    LedgerStatus,
    benefit_id_of,
    days_of,
    ledger_key,
)
from services.welfare.birthdays.postings import Postings, batches_of
from services.welfare.funds.benefits import benefit_paid
from services.welfare.funds.handlers import Funds
from services.welfare.policy.caps import CapBook, CapRequest
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.mongo import each
from shared.readmodels.member_directory import MEMBER_DIRECTORY, MemberDirectory
from shared.scheduler import JobRun
from shared.timeutil import SHANGHAI, local_today, utcnow_ms
from shared.vocabulary.welfare_plans import Category

log = logging.getLogger(__name__)

READERS = (Role.cadre, Role.finance, Role.auditor)  # a month's list, named

BIRTHDAYS = "welfare_birthdays"
TOPIC = "welfare.birthday"
NOT_FOUND = ("birthday.not_found", "生日福利不存在")
BATCH = 500  # members a run offers at once: one ledger batch per campus among them
PARALLEL_BATCHES = 3


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[BIRTHDAYS].create_index([("member_id", 1), ("month", -1)])
    await db[BIRTHDAYS].create_index([("campus", 1), ("month", 1)])
    await db[BIRTHDAYS].create_index("status")
    await db[BIRTHDAYS].create_index([("month", 1), ("ledger", 1)])  # a run's 补记
    await postings.setup_indexes(db)
    # The monthly run asks the directory for each day's birthdays: an index lookup, where a
    # question without it (or one `$in` over the month's days) reads every member.
    await db[MEMBER_DIRECTORY].create_index("birthday")


@dataclass(frozen=True)
class Birthdays:
    store: AggregateStore[BirthdayBenefit]
    directory: MemberDirectory
    caps: CapBook  # the policy profile's running totals (funds-plans): category birthday
    amount_fen: int
    funds: Funds  # the campus ledgers the benefits are paid from (生日慰问)

    @property
    def postings(self) -> Postings:
        """Which batch pays each benefit, and the batches' payments."""
        return Postings(self.store.db, self.funds)


@dataclass(frozen=True)
class RunResult:
    month: str
    born: int  # active members born in the month
    offered: int  # benefits made by this run (0 when run again)
    over_cap: int  # members whose birthday cap had no room
    unposted: int  # the month's benefits the budget refused this time (未记账)


async def _settle(birthdays: Birthdays, benefit_id: str, booking: Booking, actor: Actor) -> None:
    """A made benefit takes its batch's posting (补记; nothing when it says 已记账 already)."""
    await birthdays.store.change(benefit_id, lambda b: b.booked(booking), actor, "post")


async def post_unposted(birthdays: Birthdays, month: str, actor: Actor) -> tuple[int, int]:
    """The month's batches without an entry posted where the budget allows (the budget
    refused them, or a run stopped before paying), and the month's benefits still 未记账
    marked with their batch's entry: (benefits posted now, benefits still refused).

    A benefit with no claim was made before batches (each paid on its own, `ledger_key`):
    its own payment if it has one, else it is paid now in a batch of its own campus."""
    bookings = await birthdays.postings.settle_month(month, actor)
    found = await birthdays.store.find(
        {"month": month, "ledger": {"$ne": LedgerStatus.posted.value}}, limit=100_000
    )
    if not found:
        return 0, 0
    claims = await birthdays.postings.claims_of([b.id for b in found])
    alone: dict[str, Booking] = {}
    for benefit in (b for b in found if b.id not in claims):
        held = await benefit_paid(birthdays.funds, ledger_key(benefit.id))
        if held is not None:
            alone[benefit.id] = Booking(held["seq"])
    placed = claims.keys() | alone.keys()
    made = [(b.id, b.campus, b.amount_fen) for b in found if b.id not in placed]
    if made:
        claims |= await birthdays.postings.claim(batches_of(month, made))
    # Batches the month's manifests did not name (claims written without one) are paid too.
    others = {i: c for i, c in claims.items() if c.batch not in bookings}
    bookings |= await birthdays.postings.book(others, actor)
    posted = still = 0
    for benefit in found:
        claim = claims.get(benefit.id)
        booking = alone.get(benefit.id) or (bookings.get(claim.batch) if claim else None)
        if booking is None or booking.seq is None:
            still += 1
            continue
        await _settle(birthdays, benefit.id, booking, actor)
        posted += 1
    return posted, still


async def offer_month(birthdays: Birthdays, month: str, actor: Actor) -> RunResult:
    """The benefits of `month` (YYYY-MM) for active members born in it, within the cap."""
    year = int(month[:4])

    def born_on(day: str) -> Awaitable[list[dict[str, Any]]]:
        query = {"birthday": day, "status": "active"}
        return birthdays.directory.coll.find(query, {"campus": 1}).to_list()

    members = [
        (d["_id"], d["campus"])
        for days in await each(days_of(month), born_on)
        for d in days
        if d.get("campus")
    ]

    def claim(member_id: str) -> CapRequest:
        benefit_id = benefit_id_of(member_id, year)
        return CapRequest(
            member_id=member_id,
            category=Category.birthday,
            year=year,
            amount_fen=birthdays.amount_fen,
            key=f"birthday:{benefit_id}",
            cause=f"生日福利 {benefit_id}",
        )

    async def offer(batch: list[tuple[str, str]]) -> tuple[int, int, int]:
        ids = [benefit_id_of(m, year) for m, _ in batch]
        done = await birthdays.store.existing(ids)
        todo = [(m, c) for m, c in batch if benefit_id_of(m, year) not in done]
        # In bulk: a member's first claim of the year is one insert among many; whoever has
        # claims already goes the one-by-one way (`claim_many`).
        fits = [c.claimed for c in await birthdays.caps.claim_many([claim(m) for m, _ in todo])]
        fit = [(m, c) for (m, c), ok in zip(todo, fits, strict=True) if ok]
        # Paid before it is made: each benefit claimed for its campus's batch (or held by the
        # batch of a twin run, or of a run that stopped), and every such batch paid. A run that
        # stops in between posts nothing twice when run again (the keys), and a benefit is
        # never left made and forgotten by the ledger.
        planned = [(benefit_id_of(m, year), c, birthdays.amount_fen) for m, c in fit]
        claims = await birthdays.postings.claim(batches_of(month, planned))
        bookings = await birthdays.postings.book(claims, actor)
        benefits = []
        for member_id, _ in fit:
            # The claim is the truth of where the money went: its campus, its amount.
            held = claims[benefit_id_of(member_id, year)]
            benefit = BirthdayBenefit.offer(member_id, held.campus, month, held.amount_fen)
            benefit.booked(bookings.get(held.batch) or Booking(None, batch=held.batch))
            benefits.append(benefit)
        added = await birthdays.store.add_many(benefits, actor, "offer") if benefits else []
        for benefit, ok in zip(benefits, added, strict=True):
            if not ok and benefit.ledger_seq is not None:
                # A twin run made it first, maybe on a refusal this run's payment got past
                # (the budget amended in between): the benefit takes the entry.
                booking = Booking(benefit.ledger_seq, batch=benefit.ledger_batch)
                await _settle(birthdays, benefit.id, booking, actor)
        unposted = sum(1 for b, ok in zip(benefits, added, strict=True) if ok and not b.ledger_seq)
        return sum(added), fits.count(False), unposted

    # First the month's batches the budget refused before, or a stopped run left unpaid (they
    # come first to what it now allows); then the new ones.
    _, still = await post_unposted(birthdays, month, actor)
    # A few batches at once (each member in one batch): one waits on the database while
    # another is built.
    batches = [members[i : i + BATCH] for i in range(0, len(members), BATCH)]
    results = await each(batches, offer, in_flight=PARALLEL_BATCHES)
    offered = sum(o for o, _, _ in results)
    over_cap = sum(c for _, c, _ in results)
    unposted = still + sum(u for _, _, u in results)
    return RunResult(month, len(members), offered, over_cap, unposted)


async def run_month(birthdays: Birthdays, run: JobRun) -> None:
    """The monthly job: the slot is the month (Asia/Shanghai)."""
    result = await offer_month(birthdays, run.slot, Actor(f"job:{run.job}", run.slot))
    log.info("birthday benefits %s: %s", run.slot, result)


async def months_to_settle(birthdays: Birthdays, today: date) -> list[str]:
    """The months the daily job settles: this one, the one before, and those of the last
    twelve with a benefit still 未记账."""
    this = today.replace(day=1)
    last = (this - timedelta(days=1)).replace(day=1)
    since = f"{this.year - 1:04d}-{this.month:02d}"
    query = {"month": {"$gte": since}, "ledger": {"$ne": LedgerStatus.posted.value}}
    waiting = await birthdays.store.view.distinct("month", query)  # the months, not the benefits
    return sorted({*waiting, this.isoformat()[:7], last.isoformat()[:7]})


async def give_defaults(birthdays: Birthdays, run: JobRun) -> None:
    """The daily job: a benefit not chosen by its last day gets the default gift; and the
    batches without an entry are posted where the budget now allows (a refusal since amended,
    a run that stopped before paying): this (Beijing) month's and last month's, and any month
    of the last year with a benefit still 未记账 (a December batch amended in January)."""
    today = run.now.astimezone(SHANGHAI).date()
    for month in await months_to_settle(birthdays, today):
        posted, still = await post_unposted(birthdays, month, Actor(f"job:{run.job}", run.slot))
        if posted or still:
            log.info("birthday benefits %s: %d posted now, %d still refused", month, posted, still)
    found = await birthdays.store.find(
        {"status": BenefitStatus.offered.value, "choose_by": {"$lt": today.isoformat()}},
        limit=100_000,
    )
    now = utcnow_ms()
    for benefit in found:
        await birthdays.store.change(
            benefit.id, lambda b: b.give_default(today, now), Actor("system"), "default"
        )


async def run_now(birthdays: Birthdays, user: Principal, month: str) -> RunResult:
    """发放本月生日福利 now (the job does it on the 1st): the school's chair."""
    user.require(Role.admin)
    if not user.all_campuses:
        user.require_campus("*")
    return await offer_month(birthdays, month, Actor.of(user))


async def mine(birthdays: Birthdays, user: Principal) -> list[BirthdayBenefit]:
    user.require(Role.member)
    listed = await birthdays.store.find({"member_id": user.subject}, sort=[("month", -1)], limit=20)
    current = await birthdays.store.get_many([b.id for b in listed])  # a choice just made shows
    return [current.get(b.id, b) for b in listed]


async def choose(
    birthdays: Birthdays, user: Principal, benefit_id: str, gift: BirthdayGift
) -> BirthdayBenefit:
    """The member's choice, until the benefit's last day."""
    user.require(Role.member)
    found = await birthdays.store.get(benefit_id)
    if found is None or found.member_id != user.subject:
        raise NotFound(*NOT_FOUND, id=benefit_id)
    today, now = local_today(), utcnow_ms()
    return await birthdays.store.change(
        benefit_id, lambda b: b.choose(gift, today, now), Actor.of(user), "choose"
    )


async def of_month(birthdays: Birthdays, user: Principal, month: str) -> list[BirthdayBenefit]:
    """A month's benefits on the reader's campuses: cadres, and finance and the auditor (the
    money on the ledger traced to its members, as cases are)."""
    user.require(*READERS)
    query = {**user.campus_filter(), "month": month}
    return await birthdays.store.find(query, sort=[("campus", 1), ("_id", 1)], limit=10_000)

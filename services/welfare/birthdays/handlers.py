"""Birthday use cases: the monthly run (a scheduled job), the member's choice, the default.

The run is safe twice and on two replicas at once: each benefit's id is the member and year
(a unique key: `add_many` writes each once), each benefit's cap claim carries that id (a
keyed claim counts once), and so does its payment on the campus's ledger (`ledger_key`: the
books keep one entry per key). A member whose birthday cap for the year is used up gets none.

The payment goes through the funds API other welfare areas pay with (`pay_benefit`: the
line's budget checked, 409 `funds.no_budget` / `funds.over_budget`, a hash-chained entry).
A refused payment leaves the benefit made, 未记账 with the refusal's words (its cap claim
stands: the benefit is the member's); the month's next run — `run_now` once the budget is
amended — posts it, once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.welfare.birthdays.domain import (
    LEDGER_LINE,
    BenefitStatus,
    BirthdayBenefit,
    BirthdayGift,
    Booking,
    LedgerStatus,
    benefit_id_of,
    booked_on,
    days_of,
    ledger_key,
)
from services.welfare.funds.benefits import benefit_paid, pay_benefit
from services.welfare.funds.handlers import Funds
from services.welfare.policy.caps import CapBook, CapRequest
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.errors import DomainError, NotFound
from shared.mongo import each
from shared.readmodels.member_directory import MEMBER_DIRECTORY, MemberDirectory
from shared.scheduler import JobRun
from shared.timeutil import SHANGHAI, local_today, utcnow_ms
from shared.vocabulary.welfare_plans import Category

log = logging.getLogger(__name__)

BIRTHDAYS = "welfare_birthdays"
TOPIC = "welfare.birthday"
NOT_FOUND = ("birthday.not_found", "生日福利不存在")
BATCH = 500
PARALLEL_BATCHES = 3
POSTING_IN_FLIGHT = 8  # a batch's payments at once (one ledger per campus: they take turns)
# What the budget answers a payment it refuses: the benefit says so and waits for a later run.
BUDGET_REFUSALS = frozenset({"funds.no_budget", "funds.over_budget"})
APPROVED_BY = "工会生日慰问标准"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[BIRTHDAYS].create_index([("member_id", 1), ("month", -1)])
    await db[BIRTHDAYS].create_index([("campus", 1), ("month", 1)])
    await db[BIRTHDAYS].create_index("status")
    await db[BIRTHDAYS].create_index([("month", 1), ("ledger", 1)])  # a run's 补记
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


@dataclass(frozen=True)
class RunResult:
    month: str
    born: int  # active members born in the month
    offered: int  # benefits made by this run (0 when run again)
    over_cap: int  # members whose birthday cap had no room
    unposted: int  # the month's benefits the budget refused this time (未记账)


async def post_benefit(birthdays: Birthdays, benefit: BirthdayBenefit, actor: Actor) -> Booking:
    """The benefit's payment on its campus's ledger (line 生日慰问), once per benefit however
    often or concurrently asked: the books keep one entry per `ledger_key`. A refusal of the
    budget is answered, not raised; any other problem is raised."""
    key = ledger_key(benefit.id)
    try:
        posted = await pay_benefit(
            birthdays.funds,
            actor,
            campus=benefit.campus,
            year=benefit.year,
            line=LEDGER_LINE,
            amount_fen=benefit.amount_fen,
            cause=f"{benefit.month} 生日慰问（{benefit.id}）",
            cause_ref=f"welfare.birthday:{benefit.id}",
            approved_by=APPROVED_BY,
            occurred_on=booked_on(benefit.month, local_today()),
            key=key,
        )
    except DomainError as refused:
        if refused.code not in BUDGET_REFUSALS:
            raise
        # The budget is asked before the key: a payment already posted (a run that stopped
        # before making its benefit, a twin run at once) may be refused on what it spent
        # itself — it is on the ledger, and that is the answer.
        held = await benefit_paid(birthdays.funds, key)
        if held is not None:
            return Booking(held["seq"])
        return Booking(None, refused.code, refused.message)
    return Booking(posted.entry["seq"])


async def _settle(birthdays: Birthdays, benefit_id: str, booking: Booking, actor: Actor) -> None:
    """A made benefit takes its posting (补记; nothing when it says 已记账 already)."""
    await birthdays.store.change(benefit_id, lambda b: b.booked(booking), actor, "post")


async def post_unposted(birthdays: Birthdays, month: str, actor: Actor) -> tuple[int, int]:
    """The month's benefits still 未记账 (the budget refused them, or they were made before
    birthdays were posted), posted now where the budget allows: (posted, still refused)."""
    found = await birthdays.store.find(
        {"month": month, "ledger": {"$ne": LedgerStatus.posted.value}}, limit=100_000
    )

    async def one(benefit: BirthdayBenefit) -> bool:
        booking = await post_benefit(birthdays, benefit, actor)
        if booking.seq is None:
            return False
        await _settle(birthdays, benefit.id, booking, actor)
        return True

    done = await each(found, one, in_flight=POSTING_IN_FLIGHT)
    return done.count(True), done.count(False)


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

    async def book(benefit: BirthdayBenefit) -> BirthdayBenefit:
        benefit.booked(await post_benefit(birthdays, benefit, actor))
        return benefit

    async def offer(batch: list[tuple[str, str]]) -> tuple[int, int, int]:
        ids = [benefit_id_of(m, year) for m, _ in batch]
        done = await birthdays.store.existing(ids)
        todo = [(m, c) for m, c in batch if benefit_id_of(m, year) not in done]
        # In bulk: a member's first claim of the year is one insert among many; whoever has
        # claims already goes the one-by-one way (`claim_many`).
        fits = [c.claimed for c in await birthdays.caps.claim_many([claim(m) for m, _ in todo])]
        made = [
            BirthdayBenefit.offer(m, c, month, birthdays.amount_fen)
            for (m, c), fit in zip(todo, fits, strict=True)
            if fit
        ]
        # Paid before it is made: a run that stops in between posts nothing twice when run
        # again (the key), and a benefit is never left made and forgotten by the ledger.
        benefits = await each(made, book, in_flight=POSTING_IN_FLIGHT)
        added = await birthdays.store.add_many(benefits, actor, "offer") if benefits else []
        for benefit, ok in zip(benefits, added, strict=True):
            if not ok and benefit.ledger_seq is not None:
                # A twin run made it first, maybe on a refusal this run's payment got past
                # (the budget amended in between): the benefit takes the entry.
                await _settle(birthdays, benefit.id, Booking(benefit.ledger_seq), actor)
        unposted = sum(1 for b, ok in zip(benefits, added, strict=True) if ok and not b.ledger_seq)
        return sum(added), fits.count(False), unposted

    # First the month's benefits the budget refused before (they come first to what it now
    # allows); then the new ones.
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


async def give_defaults(birthdays: Birthdays, run: JobRun) -> None:
    """The daily job: a benefit not chosen by its last day gets the default gift."""
    today = run.now.astimezone(SHANGHAI).date()
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
    """A month's benefits on the cadre's campuses."""
    user.require(Role.cadre)
    query = {**user.campus_filter(), "month": month}
    return await birthdays.store.find(query, sort=[("campus", 1), ("_id", 1)], limit=10_000)

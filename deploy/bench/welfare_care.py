"""The monthly birthday run (生日慰问) for a school of GONGHUI_BENCH_BIRTHDAY_N members, about
a twelfth of them born in the month, next to the raw unique-insert rate of the same run.

The members are written straight into welfare's member directory as its projection writes
them (birthdays spread over the year). The run is the job's own use case (`offer_month`): the
month's members read from the directory, each one's birthday cap claimed under the benefit's
key, each benefit claimed for one batch of its campus (a unique insert), each batch paid as one
entry on its campus's ledger (生日慰问, budgets adopted first: one chain per campus, whose posts
take turns — so one entry per batch, not per benefit), the benefits written as aggregates with
their events through the outbox. The clock runs until the run returns and again until the
outbox has published every offer. Then the run is started a second time, as a second replica
would: it must offer and post nothing (checked); the ledgers' birthday payments must sum to
the benefits' money, one per batch (checked).
"""

from __future__ import annotations

import os
import uuid
from functools import partial

from deploy.bench.measure import Target, bounded, clock, wait_for
from deploy.bench.paths import services
from deploy.bench.plans import published
from deploy.bench.report import Measurement
from services.welfare.birthdays.domain import LEDGER_LINE
from services.welfare.birthdays.handlers import offer_month
from services.welfare.birthdays.postings import BATCHES
from services.welfare.funds.domain import chain_of
from services.welfare.funds.handlers import adopt_budget
from shared.aggregate import Actor
from shared.auth import Principal
from shared.readmodels.member_directory import MEMBER_DIRECTORY

MONTH = "2099-03"


def _member(i: int) -> dict:
    month = i % 12 + 1
    return {
        "_id": f"m-bday{i:06d}",
        "staff_no": f"B{i:06d}",
        "name": f"会员{i}",
        "campus": "main" if i % 3 else "east",
        "department": "语文组",
        "status": "active",
        "birthday": f"{month:02d}-{i % 28 + 1:02d}",
        "roles": [],
        "sequence": "0000000001.000",
    }


async def _raw_unique_inserts(db, count: int, concurrency: int) -> float:
    coll = db[f"bench_raw_{uuid.uuid4().hex[:6]}"]

    async def insert(i: int) -> None:
        await coll.insert_one({"_id": f"raw#{i:06d}", "member_id": f"m-{i}", "month": MONTH})

    started = clock()
    await bounded(concurrency, [partial(insert, i) for i in range(count)])
    seconds = clock() - started
    await coll.drop()
    return seconds


async def birthday_run(target: Target) -> list[Measurement]:
    total = int(os.environ.get("GONGHUI_BENCH_BIRTHDAY_N", "50000"))
    async with services(target, "birthdays", "welfare") as [welfare]:
        directory = welfare.db[MEMBER_DIRECTORY]
        members = [_member(i) for i in range(total)]
        for start in range(0, total, 5000):
            await directory.insert_many(members[start : start + 5000])
        born = sum(1 for m in members if m["birthday"].startswith("03-"))
        raw_seconds = await _raw_unique_inserts(welfare.db, born, target.concurrency)

        gifts = welfare.context.birthdays
        chair = Principal("bench-chair", frozenset({"admin"}), frozenset({"*"}))
        for campus in ("main", "east"):
            lines = {LEDGER_LINE: (born + 1) * gifts.amount_fen}
            await adopt_budget(gifts.funds, chair, campus, 2099, lines, "bench")
        started = clock()
        first = await offer_month(gifts, MONTH, Actor("bench"))
        answered = clock() - started
        await wait_for(published(welfare), target.timeout_s, "every birthday offer on Kafka")
        on_kafka = clock() - started
        again = await offer_month(gifts, MONTH, Actor("bench-replica"))
        if first.offered != born or again.offered or first.unposted:
            raise AssertionError(
                f"offered {first.offered} of {born} born in March ({first.unposted} not "
                f"posted), then {again.offered} again"
            )
        books = gifts.funds.books
        paid = [
            e
            for c in ("main", "east")
            for e in await books.entries(chain_of(c, 2099))
            if e.get("line") == LEDGER_LINE
        ]
        batches = await welfare.db[BATCHES].count_documents({"month": MONTH})
        paid_fen = sum(e["amount_fen"] for e in paid)
        if paid_fen != born * gifts.amount_fen or len(paid) != batches:
            raise AssertionError(
                f"{len(paid)} ledger payments of {paid_fen} fen for {born} benefits in "
                f"{batches} batches"
            )
    return [
        Measurement(
            "birthday.raw_insert",
            f"insert_one under a unique _id, {born:,} documents (same run, same server)",
            born,
            raw_seconds,
            note=f"{target.concurrency} in flight",
            raw=True,
        ),
        Measurement(
            "birthday.run",
            f"the monthly run: {born:,} of {total:,} members born in March",
            first.offered,
            on_kafka,
            unit="benefit",
            compare_to=("birthday.raw_insert",),
            note=(
                f"{answered:.1f} s until the run returned, {on_kafka:.1f} s until every offer "
                f"was on Kafka; {len(paid):,} ledger payments (one per batch) on 2 campus "
                f"ledgers, summing to the benefits' money (checked); run again: "
                f"{again.offered} offered (checked 0)"
            ),
        ),
    ]

"""Birthday benefits (生日慰问) on the real servers: the monthly run makes one benefit per
active member born in the month — run twice, run by two runtimes at once, and by two
schedulers ticking together — within the birthday cap; the member chooses; the default is
given after the last day; each offer is an event for notify that validates against the catalog.
The money is paid per batch: each benefit is claimed for exactly one batch of its campus, and
each batch is one payment on the campus's ledger (生日慰问, the sum of its benefits) however
often and concurrently the month runs, also after runs that stopped between their claims and
their payment (the next run or the daily job posts such a batch, with its claims completed);
a batch the budget refuses says so on its benefits, and the run, or the daily job, after the
budget's amendment posts it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.welfare.birthdays.domain import BirthdayBenefit, LedgerStatus
from services.welfare.birthdays.handlers import Birthdays, give_defaults, offer_month
from services.welfare.birthdays.postings import BATCHES, POSTINGS, batches_of
from services.welfare.bootstrap import bootstrap
from services.welfare.policy.caps import CapRequest
from shared.aggregate import Actor
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.scheduler import JOBS, JobRun, Scheduler
from shared.timeutil import local_today, utcnow
from shared.vocabulary.welfare_plans import Category
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
MONTH = "2026-03"
LINE = "spend_activity_birthday"
CHAIR = bearer("chair-bd", ["admin"], ["*"])


@pytest.fixture(scope="module")
async def gifts(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["welfare"])
    try:
        yield s
    finally:
        await close_stack(s)


async def born(stack: Stack, count: int, birthday: str, **over: Any) -> list[str]:
    tag = uuid.uuid4().hex[:6]
    ids = [f"m-bd{tag}{i:03d}" for i in range(count)]
    docs = [
        {
            "_id": member_id,
            "name": f"寿星{i}",
            "campus": "main" if i % 2 else "east",
            "status": "active",
            "birthday": birthday,
            "sequence": "0000000001.000",
            **over,
        }
        for i, member_id in enumerate(ids)
    ]
    await stack.welfare.db[MEMBER_DIRECTORY].insert_many(docs)
    return ids


def ctx(stack: Stack) -> Birthdays:
    return stack.welfare.context.birthdays


async def offered(stack: Stack, month: str) -> list[dict[str, Any]]:
    log = stack.welfare.db["welfare_birthdays_changes"]
    return [d async for d in log.find({"version": 1}) if d["state"]["month"] == month]


async def test_the_monthly_run_makes_one_benefit_per_member_however_often_it_runs(gifts: Stack):
    stack = gifts
    march = await born(stack, 24, "03-15")
    await born(stack, 3, "04-01")  # another month
    await born(stack, 2, "03-02", status="retired")  # not active
    [full] = await born(stack, 1, "03-31")
    # This member's birthday cap for 2026 is spent (the policy profile: 300 元 a year).
    spent = CapRequest(full, Category.birthday, 2026, 30_000, f"earlier:{full}")
    await ctx(stack).caps.claim(spent)

    first = await offer_month(ctx(stack), MONTH, Actor("test"))
    assert (first.born, first.offered, first.over_cap) == (25, 24, 1)
    again = await offer_month(ctx(stack), MONTH, Actor("test"))
    assert again.offered == 0 and again.over_cap == 1

    # Two runtimes (replicas) at once, on the same database, each with its own caches.
    other = bootstrap(stack.welfare.settings, configure_logs=False)
    try:
        more = await born(stack, 10, "03-20")
        results = await asyncio.gather(
            offer_month(ctx(stack), MONTH, Actor("replica-1")),
            offer_month(other.context.birthdays, MONTH, Actor("replica-2")),
        )
        assert sum(r.offered for r in results) == 10
        # …and their schedulers ticking together for the March slot: one runs it.
        moment = datetime(2026, 3, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
        ticks = [
            Scheduler("welfare", rt.db, [job], tick_s=1, clock=lambda: moment, holder=name)
            for rt, name in ((stack.welfare, "a"), (other, "b"))
            for job in rt.scheduler.jobs
            if job.name == "welfare.birthdays"
        ]
        ran = await asyncio.gather(*(s.tick() for s in ticks))
        assert sorted(len(r) for r in ran) == [0, 1]
    finally:
        await other.client.close()

    docs = await offered(stack, MONTH)
    members = [d["state"]["member_id"] for d in docs]
    assert len(members) == len(set(members)) == 34
    assert set(members) == {*march, *more}
    for member in (*march, *more):
        standing = await ctx(stack).caps.standing(member, Category.birthday, 2026)
        assert standing.used_fen == 20_000  # counted once however often it ran

    # Each offer is an event for notify, with the member's id only.
    async def published() -> bool:
        return await stack.welfare.relay.backlog() == 0

    await wait_until(published, 30, "welfare's outbox to be published")
    events = [
        json.loads(r.value)
        for r in await read_all(stack.bootstrap, stack.topic("welfare.birthday"), 2000)
    ]
    offers = [e for e in events if e["type"] == "welfare.birthday.offered.v1"]
    assert len(offers) == 34
    schema = json.loads((SCHEMAS / "welfare.birthday.offered.v1.json").read_text())
    for event in offers:
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
        assert "name" not in event["data"]


async def test_the_member_chooses_and_the_default_follows_the_last_day(gifts: Stack):
    stack = gifts
    [me] = await born(stack, 1, "02-10")
    await offer_month(ctx(stack), "2026-02", Actor("test"))
    mine = bearer(me, ["member"], ["east"])

    async def listed() -> bool:
        found = await stack.welfare_http.get("/birthdays/mine", headers=mine)
        return len(found.json()) == 1

    await wait_until(listed, 30, "the member's benefit")
    [benefit] = (await stack.welfare_http.get("/birthdays/mine", headers=mine)).json()
    assert benefit["status"] == "offered" and benefit["choose_by"] == "2026-02-28"
    # February is over: too late to choose; the daily job gives the default.
    late = await stack.welfare_http.post(
        f"/birthdays/{benefit['id']}/choice", json={"gift": "books"}, headers=mine
    )
    assert late.status_code == 409 and late.json()["code"] == "birthday.closed"
    other = bearer("m-someone-else", ["member"], ["east"])
    peek = await stack.welfare_http.post(
        f"/birthdays/{benefit['id']}/choice", json={"gift": "books"}, headers=other
    )
    assert peek.status_code == 404
    run = JobRun("welfare.birthdays.defaults", "2026-12-05", 1, datetime.now(UTC))
    await give_defaults(ctx(stack), run)
    got = await ctx(stack).store.require(benefit["id"])
    assert got.status.value == "defaulted" and got.gift is not None and got.gift.value == "cake"

    # This month's benefit can be chosen, and changed, until its last day.
    today = datetime.now(UTC)
    month = f"{today.year:04d}-{today.month:02d}"
    [now_born] = await born(stack, 1, f"{today.month:02d}-01")
    await offer_month(ctx(stack), month, Actor("test"))
    url = f"/birthdays/b-{today.year}-{now_born}/choice"
    mine = bearer(now_born, ["member"], ["east"])
    chosen = await stack.welfare_http.post(url, json={"gift": "fruit"}, headers=mine)
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["gift_label"] == "水果礼盒" and chosen.json()["status"] == "chosen"


async def budget(stack: Stack, birthday_fen: int, year: int = 2026) -> str:
    """A campus of its own with the year's budget for 生日慰问."""
    campus = f"b{uuid.uuid4().hex[:8]}"
    body = {"lines": {LINE: birthday_fen}, "note": "生日慰问预算"}
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{campus}/{year}", json=body, headers=CHAIR
    )
    assert adopted.status_code == 201, adopted.text
    return campus


async def amend(stack: Stack, campus: str, year: int, change_fen: int) -> None:
    amended = await stack.welfare_http.post(
        f"/funds/budgets/{campus}/{year}/amendments",
        json={
            "line": LINE,
            "change_fen": change_fen,
            "reason": "补足生日慰问",
            "idempotency_key": f"bd-{campus}-more",
        },
        headers=CHAIR,
    )
    assert amended.status_code == 201, amended.text


async def birthday_payments(stack: Stack, campus: str, year: int = 2026) -> dict[str, Any]:
    """The campus's payments of the year made for birthday benefits, by batch key."""
    found = await stack.welfare_http.get(
        f"/funds/ledgers/{campus}/{year}/entries",
        params={"kind": "payment", "limit": 500},
        headers=bearer(f"fin-{campus}", ["finance"], [campus]),
    )
    assert found.status_code == 200, found.text
    paid = [e for e in found.json()["entries"] if (e["cause_ref"] or "").startswith("welfare.")]
    by_batch = {e["cause_ref"].removeprefix("welfare.birthday-batch:"): e for e in paid}
    assert len(by_batch) == len(paid), "a batch paid twice, or a benefit paid on its own"
    return by_batch


async def each_in_one_batch(stack: Stack, benefit_ids: list[str]) -> dict[str, str]:
    """Each benefit's batch (its claim): every benefit has exactly one (a unique key)."""
    claims = {d["_id"]: d["batch"] async for d in stack.welfare.db[POSTINGS].find({})}
    assert set(benefit_ids) <= set(claims), "a benefit without a batch"
    return {i: claims[i] for i in benefit_ids}


def assert_paid_as_claimed(
    paid: dict[str, Any], batch_of: dict[str, str], made: dict[str, Any], month: str
) -> None:
    """Each batch one entry of its benefits' sum; each benefit 已记账 on its batch's entry; the
    month's entries sum to its benefits' money."""
    assert set(paid) == set(batch_of.values())
    for key, entry in paid.items():
        members = [i for i, k in batch_of.items() if k == key]
        assert entry["amount_fen"] == sum(made[i].amount_fen for i in members)
        assert (entry["line"], entry["line_name"]) == (LINE, "生日慰问")
        assert entry["cause"] == f"{month} 生日慰问 {len(members)} 人" and entry["approved_by"]
    for benefit_id, benefit in made.items():
        entry = paid[batch_of[benefit_id]]
        assert (benefit.ledger, benefit.ledger_seq, benefit.ledger_batch) == (
            LedgerStatus.posted,
            entry["seq"],
            batch_of[benefit_id],
        )
    assert sum(e["amount_fen"] for e in paid.values()) == sum(b.amount_fen for b in made.values())


async def test_each_benefit_is_paid_in_one_batch_however_often_and_concurrently_it_runs(
    gifts: Stack,
):
    stack = gifts
    campus = await budget(stack, 10_000_000)
    members = await born(stack, 8, "05-18", campus=campus)
    ids = [f"b-2026-{m}" for m in members]
    postings = ctx(stack).postings
    # A run that stopped after paying its batch of two, before making them; and one that
    # stopped after claiming the next two for its batch, before paying it.
    early = await postings.claim(batches_of("2026-05", [(i, campus, 20_000) for i in ids[:2]]))
    [early_seq] = [b.seq for b in (await postings.book(early, Actor("stopped"))).values()]
    await postings.claim(batches_of("2026-05", [(i, campus, 20_000) for i in ids[2:4]]))

    other = bootstrap(stack.welfare.settings, configure_logs=False)
    try:
        runs = await asyncio.gather(
            offer_month(ctx(stack), "2026-05", Actor("run-1")),
            offer_month(ctx(stack), "2026-05", Actor("run-2")),
            offer_month(other.context.birthdays, "2026-05", Actor("replica")),
        )
    finally:
        await other.client.close()
    assert sum(r.offered for r in runs) == 8 and all(r.unposted == 0 for r in runs)
    again = await offer_month(ctx(stack), "2026-05", Actor("again"))
    assert (again.offered, again.unposted) == (0, 0)

    made = await ctx(stack).store.get_many(ids)
    batch_of = await each_in_one_batch(stack, ids)
    # The stopped runs' batches, and one of the runs' for the other four (its twins named
    # the same key, or held nothing).
    assert len(set(batch_of.values())) == 3
    assert len({batch_of[i] for i in ids[:2]}) == len({batch_of[i] for i in ids[2:4]}) == 1
    paid = await birthday_payments(stack, campus)
    assert_paid_as_claimed(paid, batch_of, made, "2026-05")
    assert paid[batch_of[ids[0]]]["seq"] == early_seq  # the stopped run's payment
    # The payment itself, replayed: twice at once, and once more.
    claims = await postings.claims_of(ids)
    replays = list(
        await asyncio.gather(*(postings.book(claims, Actor("replay")) for _ in range(2)))
    )
    replays.append(await postings.book(claims, Actor("replay")))
    assert all(
        {k: b.seq for k, b in r.items()} == {k: e["seq"] for k, e in paid.items()} for r in replays
    )
    assert await birthday_payments(stack, campus) == paid

    auditor = bearer(f"aud-{campus}", ["auditor"], [campus])
    check = await stack.welfare_http.get(f"/funds/ledgers/{campus}/2026/check", headers=auditor)
    assert check.json()["intact"] is True, check.text
    # The line's actual is the benefits' money, counted once.
    plan = await stack.welfare_http.get(f"/funds/budgets/{campus}/2026", headers=auditor)
    [line] = [x for x in plan.json()["lines"] if x["code"] == LINE]
    assert (line["actual_fen"], line["remaining_fen"]) == (8 * 20_000, 10_000_000 - 8 * 20_000)


async def test_a_refused_batch_shows_on_its_benefits_and_the_next_run_posts_it(gifts: Stack):
    stack = gifts
    tight = await budget(stack, 30_000)  # room for one benefit of 200 元, not a batch of two
    pair = await born(stack, 2, "06-09", campus=tight)
    [lone] = await born(stack, 1, "06-30", campus=f"n{uuid.uuid4().hex[:8]}")  # no budget

    first = await offer_month(ctx(stack), "2026-06", Actor("test"))
    assert (first.offered, first.unposted) == (3, 3)
    made = await ctx(stack).store.get_many([f"b-2026-{m}" for m in (*pair, lone)])
    waiting = [made[f"b-2026-{m}"] for m in pair]
    [key] = {b.ledger_batch for b in waiting}  # one batch for the campus, refused whole
    assert key is not None
    for benefit in waiting:
        assert benefit.ledger is LedgerStatus.unposted and benefit.ledger_seq is None
        assert benefit.ledger_problem_code == "funds.over_budget"
        assert benefit.ledger_problem is not None and "不足支付 400.00 元" in benefit.ledger_problem
    nothing = made[f"b-2026-{lone}"]
    assert (nothing.ledger_problem_code, nothing.ledger_problem) == (
        "funds.no_budget",
        "本年度预算尚未批准，不能支出",
    )
    assert nothing.ledger_batch is not None and nothing.ledger_batch != key
    assert await birthday_payments(stack, tight) == {}

    # The member and the campus's cadres read it: 未记账, why, and the batch; cadres the names.
    mine = bearer(waiting[0].member_id, ["member"], [tight])

    async def shown() -> bool:
        got = await stack.welfare_http.get("/birthdays/mine", headers=mine)
        return len(got.json()) == 1

    await wait_until(shown, 30, "the member's benefit")
    [own] = (await stack.welfare_http.get("/birthdays/mine", headers=mine)).json()
    assert (own["ledger"], own["ledger_label"], own["ledger_seq"]) == ("unposted", "未记账", None)
    assert own["ledger_problem_code"] == "funds.over_budget" and own["ledger_batch"] == key
    assert own["member_name"] is None  # the member's own list: no names looked up
    desk = await stack.welfare_http.get(
        "/birthdays", params={"month": "2026-06"}, headers=bearer("cadre-bd", ["cadre"], [tight])
    )
    assert {(b["id"], b["ledger_label"], b["ledger_batch"]) for b in desk.json()} == {
        (b.id, "未记账", key) for b in waiting
    }
    assert {b["member_name"] for b in desk.json()} == {"寿星0", "寿星1"}
    # The chair amends the line; the run, asked again (twice at once), posts the batch once.
    await amend(stack, tight, 2026, 10_000)
    reruns = await asyncio.gather(
        *(
            stack.welfare_http.post("/birthdays/runs", json={"month": "2026-06"}, headers=CHAIR)
            for _ in range(2)
        )
    )
    assert all(r.status_code == 200 for r in reruns), [r.text for r in reruns]
    assert [(r.json()["offered"], r.json()["unposted"]) for r in reruns] == [(0, 1), (0, 1)]
    paid = await birthday_payments(stack, tight)
    assert list(paid) == [key] and paid[key]["amount_fen"] == 40_000
    assert paid[key]["cause"] == "2026-06 生日慰问 2 人"
    for benefit in waiting:
        now = await ctx(stack).store.require(benefit.id)
        assert (now.ledger, now.ledger_seq) == (LedgerStatus.posted, paid[key]["seq"])
        assert now.ledger_problem is None and now.ledger_problem_code is None
    # The line is spent to the last fen now: a replay is still answered with its entry.
    claims = await ctx(stack).postings.claims_of([b.id for b in waiting])
    replay = await ctx(stack).postings.book(claims, Actor("replay"))
    assert replay[key].seq == paid[key]["seq"] and replay[key].code is None
    assert await birthday_payments(stack, tight) == paid
    still = await ctx(stack).store.require(nothing.id)
    assert still.ledger is LedgerStatus.unposted  # its campus has no budget yet

    # Each late posting is an event of its own (valid against the catalog); nobody else's.
    async def published() -> bool:
        return await stack.welfare.relay.backlog() == 0

    await wait_until(published, 30, "welfare's outbox to be published")
    late = [
        json.loads(r.value)
        for r in await read_all(stack.bootstrap, stack.topic("welfare.birthday"), 4000)
        if json.loads(r.value)["type"] == "welfare.birthday.posted.v1"
    ]
    waiting_ids = {b.id for b in waiting}
    mine_late = [e for e in late if e["data"]["benefit_id"] in waiting_ids]
    assert sorted(e["data"]["benefit_id"] for e in mine_late) == sorted(waiting_ids)
    assert not [e for e in late if e["data"]["benefit_id"] == nothing.id]
    schema = json.loads((SCHEMAS / "welfare.birthday.posted.v1.json").read_text())
    for event in mine_late:
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
        assert event["data"]["ledger_seq"] == paid[key]["seq"]


async def scheduled_runs_done(stack: Stack) -> None:
    """The birthday jobs due at the stack's start have run: what follows is the test's."""
    jobs = stack.welfare.db[JOBS]
    for job in stack.welfare.scheduler.jobs:
        slot = job.schedule.slot(utcnow()) if job.name.startswith("welfare.birthdays") else None
        if slot is not None:

            async def done(name: str = job.name, at: str = slot) -> bool:
                return await jobs.find_one({"_id": f"{name}@{at}#done"}) is not None

            await wait_until(done, 60, f"the scheduled {job.name}")


def daily_job() -> JobRun:
    return JobRun("welfare.birthdays.defaults", local_today().isoformat(), 1, datetime.now(UTC))


async def test_the_daily_job_posts_a_refused_batch_once_the_budget_is_amended(gifts: Stack):
    stack, today = gifts, local_today()
    month, year = today.isoformat()[:7], today.year
    await scheduled_runs_done(stack)
    short = await budget(stack, 10_000, year)  # not even one benefit
    members = await born(stack, 2, f"{today.month:02d}-01", campus=short)
    ids = [f"b-{year}-{m}" for m in members]
    await offer_month(ctx(stack), month, Actor("test"))
    refused = await ctx(stack).store.get_many(ids)
    assert {(b.ledger, b.ledger_problem_code) for b in refused.values()} == {
        (LedgerStatus.unposted, "funds.over_budget")
    }
    # A benefit made 未记账 before batches (no claim): the daily job pays it in a batch too.
    [old] = await born(stack, 1, f"{today.month:02d}-01", campus=short)
    await ctx(stack).store.add(BirthdayBenefit.offer(old, short, month, 20_000), Actor("before"))
    ids.append(f"b-{year}-{old}")
    await asyncio.gather(*(give_defaults(ctx(stack), daily_job()) for _ in range(2)))
    assert await birthday_payments(stack, short, year) == {}  # still refused: nothing posted
    await amend(stack, short, year, 50_000)
    # The daily job (twice at once, as on two replicas) posts each batch, once.
    await asyncio.gather(*(give_defaults(ctx(stack), daily_job()) for _ in range(2)))
    made = await ctx(stack).store.get_many(ids)
    batch_of = await each_in_one_batch(stack, ids)
    paid = await birthday_payments(stack, short, year)
    assert len(paid) == 2 and len({batch_of[i] for i in ids[:2]}) == 1
    assert_paid_as_claimed(paid, batch_of, made, month)


async def test_the_daily_job_posts_an_earlier_months_refused_benefit(gifts: Stack):
    """Not only this month's: a batch refused two months ago, its budget amended since, is
    posted by today's daily job (no run of that month comes again)."""
    stack, today = gifts, local_today()
    earlier = (today.replace(day=1) - timedelta(days=40)).replace(day=1)
    month, year = earlier.isoformat()[:7], earlier.year
    await scheduled_runs_done(stack)
    short = await budget(stack, 10_000, year)
    [member] = await born(stack, 1, f"{earlier.month:02d}-03", campus=short)
    benefit_id = f"b-{year}-{member}"
    await offer_month(ctx(stack), month, Actor("test"))
    refused = await ctx(stack).store.get(benefit_id)
    assert refused is not None and refused.ledger is LedgerStatus.unposted
    await amend(stack, short, year, 50_000)
    await give_defaults(ctx(stack), daily_job())
    posted = await ctx(stack).store.get(benefit_id)
    assert posted is not None and posted.ledger is LedgerStatus.posted
    paid = await birthday_payments(stack, short, year)
    assert [e["amount_fen"] for e in paid.values()] == [posted.amount_fen]


async def test_a_run_stopped_between_its_claims_and_its_payment_is_repaired(gifts: Stack):
    stack, today = gifts, local_today()
    month, year = today.isoformat()[:7], today.year
    await scheduled_runs_done(stack)
    campus = await budget(stack, 1_000_000, year)
    members = await born(stack, 4, f"{today.month:02d}-02", campus=campus)
    ids = [f"b-{year}-{m}" for m in members]
    # The run wrote its batch's manifest and got half its claims in, then stopped.
    [batch] = batches_of(month, [(i, campus, 20_000) for i in ids])
    await stack.welfare.db[BATCHES].insert_one({"_id": batch.key, **batch.manifest()})
    half = [
        {"_id": i, "batch": batch.key, "campus": campus, "month": month, "amount_fen": 20_000}
        for i in ids[:2]
    ]
    await stack.welfare.db[POSTINGS].insert_many(half)
    assert await birthday_payments(stack, campus, year) == {}

    # The daily job (twice at once) completes the claims from the manifest and pays it all.
    await asyncio.gather(*(give_defaults(ctx(stack), daily_job()) for _ in range(2)))
    batch_of = await each_in_one_batch(stack, ids)
    assert set(batch_of.values()) == {batch.key}
    paid = await birthday_payments(stack, campus, year)
    assert list(paid) == [batch.key] and paid[batch.key]["amount_fen"] == 4 * 20_000
    # The next run makes the benefits on that entry, and pays nothing again.
    await offer_month(ctx(stack), month, Actor("test"))
    made = await ctx(stack).store.get_many(ids)
    assert len(made) == 4
    assert await birthday_payments(stack, campus, year) == paid
    assert_paid_as_claimed(paid, batch_of, made, month)

"""Birthday benefits (生日慰问) on the real servers: the monthly run makes one benefit per
active member born in the month — run twice, run by two runtimes at once, and by two
schedulers ticking together — within the birthday cap; the member chooses; the default is
given after the last day; each offer is an event for notify that validates against the catalog.
Each benefit is one payment on its campus's ledger (生日慰问) however often and concurrently it
is posted; one the budget refuses says so, and the run after the budget's amendment posts it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.welfare.birthdays.domain import BirthdayBenefit, LedgerStatus
from services.welfare.birthdays.handlers import Birthdays, give_defaults, offer_month, post_benefit
from services.welfare.bootstrap import bootstrap
from services.welfare.policy.caps import CapRequest
from shared.aggregate import Actor
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.scheduler import JobRun, Scheduler
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


async def budget(stack: Stack, birthday_fen: int) -> str:
    """A campus of its own with this year's budget for 生日慰问."""
    campus = f"b{uuid.uuid4().hex[:8]}"
    body = {"lines": {LINE: birthday_fen}, "note": "生日慰问预算"}
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{campus}/2026", json=body, headers=CHAIR
    )
    assert adopted.status_code == 201, adopted.text
    return campus


async def birthday_payments(stack: Stack, campus: str) -> dict[str, dict[str, Any]]:
    """The campus's 2026 payments made for birthday benefits, by benefit."""
    found = await stack.welfare_http.get(
        f"/funds/ledgers/{campus}/2026/entries",
        params={"kind": "payment", "limit": 500},
        headers=bearer(f"fin-{campus}", ["finance"], [campus]),
    )
    assert found.status_code == 200, found.text
    paid = [
        e for e in found.json()["entries"] if (e["cause_ref"] or "").startswith("welfare.birthday:")
    ]
    by_benefit = {e["cause_ref"].removeprefix("welfare.birthday:"): e for e in paid}
    assert len(by_benefit) == len(paid), "a benefit paid twice"
    return by_benefit


async def test_each_benefit_is_one_ledger_payment_however_often_it_is_posted(gifts: Stack):
    stack = gifts
    campus = await budget(stack, 10_000_000)
    members = await born(stack, 6, "05-18", campus=campus)
    # A run that stopped after paying its first member's benefit, before making it.
    early = BirthdayBenefit.offer(members[0], campus, "2026-05", 20_000)
    first_seq = (await post_benefit(ctx(stack), early, Actor("stopped"))).seq
    assert first_seq is not None

    other = bootstrap(stack.welfare.settings, configure_logs=False)
    try:
        runs = await asyncio.gather(
            offer_month(ctx(stack), "2026-05", Actor("run-1")),
            offer_month(ctx(stack), "2026-05", Actor("run-2")),
            offer_month(other.context.birthdays, "2026-05", Actor("replica")),
        )
    finally:
        await other.client.close()
    assert sum(r.offered for r in runs) == 6 and all(r.unposted == 0 for r in runs)
    again = await offer_month(ctx(stack), "2026-05", Actor("again"))
    assert (again.offered, again.unposted) == (0, 0)

    made = await ctx(stack).store.get_many([f"b-2026-{m}" for m in members])
    # The posting itself, replayed: twice at once, and once more.
    replays = await asyncio.gather(
        *(post_benefit(ctx(stack), made[f"b-2026-{members[1]}"], Actor("replay")) for _ in range(2))
    )
    replays.append(await post_benefit(ctx(stack), made[f"b-2026-{members[1]}"], Actor("replay")))
    assert len({r.seq for r in replays}) == 1 and replays[0].seq is not None

    paid = await birthday_payments(stack, campus)
    assert sorted(paid) == sorted(made)
    assert paid[f"b-2026-{members[0]}"]["seq"] == first_seq  # the stopped run's payment
    for benefit_id, benefit in made.items():
        entry = paid[benefit_id]
        assert (entry["line"], entry["line_name"], entry["amount_fen"]) == (
            LINE,
            "生日慰问",
            20_000,
        )
        assert entry["approved_by"] and "生日慰问" in entry["cause"]
        assert (benefit.ledger, benefit.ledger_seq) == (LedgerStatus.posted, entry["seq"])
    assert replays[0].seq == paid[f"b-2026-{members[1]}"]["seq"]
    auditor = bearer(f"aud-{campus}", ["auditor"], [campus])
    check = await stack.welfare_http.get(f"/funds/ledgers/{campus}/2026/check", headers=auditor)
    assert check.json()["intact"] is True, check.text
    # The line's actual is the benefits' money, counted once.
    plan = await stack.welfare_http.get(f"/funds/budgets/{campus}/2026", headers=auditor)
    [line] = [x for x in plan.json()["lines"] if x["code"] == LINE]
    assert (line["actual_fen"], line["remaining_fen"]) == (6 * 20_000, 10_000_000 - 6 * 20_000)


async def test_a_refused_budget_shows_on_the_benefit_and_the_next_run_posts_it(gifts: Stack):
    stack = gifts
    tight = await budget(stack, 30_000)  # room for one benefit of 200 元, not two
    pair = await born(stack, 2, "06-09", campus=tight)
    [lone] = await born(stack, 1, "06-30", campus=f"n{uuid.uuid4().hex[:8]}")  # no budget

    first = await offer_month(ctx(stack), "2026-06", Actor("test"))
    assert (first.offered, first.unposted) == (3, 2)
    made = await ctx(stack).store.get_many([f"b-2026-{m}" for m in (*pair, lone)])
    [posted] = [b for b in made.values() if b.ledger is LedgerStatus.posted]
    [waiting] = [b for b in made.values() if b.campus == tight and b is not posted]
    assert waiting.ledger is LedgerStatus.unposted and waiting.ledger_seq is None
    assert waiting.ledger_problem_code == "funds.over_budget"
    assert waiting.ledger_problem is not None and "不足支付 200.00 元" in waiting.ledger_problem
    nothing = made[f"b-2026-{lone}"]
    assert (nothing.ledger_problem_code, nothing.ledger_problem) == (
        "funds.no_budget",
        "本年度预算尚未批准，不能支出",
    )
    assert list(await birthday_payments(stack, tight)) == [posted.id]

    # The member and the campus's cadres read it: 未记账, and why.
    mine = bearer(waiting.member_id, ["member"], [tight])

    async def shown() -> bool:
        got = await stack.welfare_http.get("/birthdays/mine", headers=mine)
        return len(got.json()) == 1

    await wait_until(shown, 30, "the member's benefit")
    [own] = (await stack.welfare_http.get("/birthdays/mine", headers=mine)).json()
    assert (own["ledger"], own["ledger_label"], own["ledger_seq"]) == ("unposted", "未记账", None)
    assert own["ledger_problem_code"] == "funds.over_budget"
    desk = await stack.welfare_http.get(
        "/birthdays", params={"month": "2026-06"}, headers=bearer("cadre-bd", ["cadre"], [tight])
    )
    assert {(b["id"], b["ledger_label"]) for b in desk.json()} == {
        (posted.id, "已记账"),
        (waiting.id, "未记账"),
    }
    # The chair amends the line; the run, asked again (twice at once), posts it once.
    amended = await stack.welfare_http.post(
        f"/funds/budgets/{tight}/2026/amendments",
        json={
            "line": LINE,
            "change_fen": 10_000,
            "reason": "补足生日慰问",
            "idempotency_key": "bd-06-more",
        },
        headers=CHAIR,
    )
    assert amended.status_code == 201, amended.text
    reruns = await asyncio.gather(
        *(
            stack.welfare_http.post("/birthdays/runs", json={"month": "2026-06"}, headers=CHAIR)
            for _ in range(2)
        )
    )
    assert all(r.status_code == 200 for r in reruns), [r.text for r in reruns]
    assert [(r.json()["offered"], r.json()["unposted"]) for r in reruns] == [(0, 1), (0, 1)]
    paid = await birthday_payments(stack, tight)
    assert sorted(paid) == sorted([posted.id, waiting.id])
    now = await ctx(stack).store.require(waiting.id)
    assert (now.ledger, now.ledger_seq) == (LedgerStatus.posted, paid[waiting.id]["seq"])
    assert now.ledger_problem is None and now.ledger_problem_code is None
    # The line is spent to the last fen now: a replay is still answered with its entry.
    replay = await post_benefit(ctx(stack), now, Actor("replay"))
    assert replay.seq == now.ledger_seq and replay.code is None
    assert sorted(await birthday_payments(stack, tight)) == sorted(paid)
    still = await ctx(stack).store.require(nothing.id)
    assert still.ledger is LedgerStatus.unposted  # its campus has no budget yet

    # The late posting is an event of its own (valid against the catalog); nobody else's.
    async def published() -> bool:
        return await stack.welfare.relay.backlog() == 0

    await wait_until(published, 30, "welfare's outbox to be published")
    late = [
        json.loads(r.value)
        for r in await read_all(stack.bootstrap, stack.topic("welfare.birthday"), 4000)
        if json.loads(r.value)["type"] == "welfare.birthday.posted.v1"
    ]
    assert [e["data"]["benefit_id"] for e in late] == [waiting.id]
    schema = json.loads((SCHEMAS / "welfare.birthday.posted.v1.json").read_text())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(late[0]["data"])
    assert late[0]["data"]["ledger_seq"] == paid[waiting.id]["seq"]

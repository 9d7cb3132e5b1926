"""Birthday benefits (生日慰问) on the real servers: the monthly run makes one benefit per
active member born in the month — run twice, run by two runtimes at once, and by two
schedulers ticking together — within the birthday cap; the member chooses; the default is
given after the last day; each offer is an event for notify that validates against the catalog."""

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

from services.welfare.birthdays.handlers import Birthdays, give_defaults, offer_month
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

"""Policy caps and festival distribution plans (福利发放方案) on the real Kafka and MongoDB
wire: the exact 422 of a cap with cap/used/remaining, concurrent claims never pass a cap, the
festival year total across plans, publication idempotent, late eligibility, the default after
the deadline with two runtimes, voided on withdrawal through Kafka, one ledger entry per
issued entitlement under concurrent issue requests, and every event against the catalog."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openpyxl import load_workbook

from services.members.org.domain import CampusDefinition
from services.welfare.bootstrap import bootstrap as welfare_bootstrap
from services.welfare.plans.domain import Plan
from services.welfare.plans.handlers import distribute
from services.welfare.policy.caps import CapRequest
from services.welfare.policy.profile import Category
from shared.aggregate import Actor
from shared.envelope import CloudEvent
from shared.errors import Refused
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, settings_for
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

YEAR = 2026
CHAIR = bearer("chair-1", ["admin"], ["*"])
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
DEPTS = ["语文组", "数学组"]


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
    return event


def cadre(campus: str) -> dict[str, str]:
    return bearer(f"cadre-{campus}", ["cadre"], [campus])


@pytest.fixture(scope="module")
async def plans(infra) -> AsyncIterator[Stack]:
    s = await build_stack(
        infra, ["members", "welfare"], settings={"welfare": {"plan_deadline_check_s": 1}}
    )
    try:
        yield s
    finally:
        await close_stack(s)


async def new_campus(stack: Stack) -> str:
    code = f"p{uuid.uuid4().hex[:7]}"
    definition = CampusDefinition(name=f"{code}校区", departments=DEPTS, small_groups=[])
    await stack.members.context.org.define(code, definition, Actor("test-seed"))
    return code


async def join(stack: Stack, campus: str, department: str = "语文组", **over: Any) -> str:
    body = {
        "staff_no": f"T{uuid.uuid4().hex[:8]}",
        "name": "王芳",
        "campus": campus,
        "department": department,
        **over,
    }
    response = await stack.members_http.post("/members", json=body, headers=cadre(campus))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def in_directory(stack: Stack, member_id: str, status: str = "active") -> None:
    directory = stack.welfare.context.policy.directory

    async def there() -> bool:
        found = await directory.get(member_id)
        return found is not None and found.get("status") == status

    await wait_until(there, 30, f"{member_id} {status} in welfare's directory")


def terms(campuses: list[str], standard: int = 30_000, **over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "title": "端午节福利",
        "festival": "dragon_boat",
        "year": YEAR,
        "campuses": campuses,
        "standard_fen": standard,
        "options": [
            {
                "code": "zongzi",
                "name": "粽子礼盒",
                "price_fen": standard,
                "form": "food",
                "picture": "🍙",
            },
            {
                "code": "tea",
                "name": "茶叶",
                "price_fen": standard - 2_000,
                "form": "goods",
                "picture": "🍵",
            },
        ],
        "reference_date": (now + timedelta(hours=8)).date().isoformat(),
        "deadline": (now + timedelta(days=3)).isoformat(),
        "default_option": "zongzi",
        **over,
    }


async def published(stack: Stack, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    headers = cadre(body["campuses"][0]) if len(body["campuses"]) == 1 else CHAIR
    made = await stack.welfare_http.post("/welfare/plans", json=body, headers=headers)
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    approved = await stack.welfare_http.post(f"/welfare/plans/{plan_id}/approval", headers=CHAIR)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    done = await stack.welfare_http.post(f"/welfare/plans/{plan_id}/publication", headers=headers)
    assert done.status_code == 200, done.text
    return plan_id, done.json()


async def relay_empty(stack: Stack) -> None:
    async def empty() -> bool:
        return await stack.welfare.relay.backlog() == 0

    await wait_until(empty, 30, "the welfare outbox to be published")


async def events_of(stack: Stack, topic: str, plan_id: str) -> list[dict[str, Any]]:
    await relay_empty(stack)
    records = await read_all(stack.bootstrap, stack.topic(topic), 2000)
    found = [json.loads(r.value) for r in records if r.value]
    return [conforms(e) for e in found if e["data"].get("plan_id") == plan_id]


# -- caps ---------------------------------------------------------------------------------------


async def test_a_payment_over_the_cap_is_refused_with_cap_used_and_remaining(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    member = await join(stack, campus)
    await in_directory(stack, member)
    caps = stack.welfare.context.policy.caps
    await caps.claim(CapRequest(member, Category.festival, YEAR, 150_000, f"k-{member}-1"))

    body = {"member_id": member, "category": "festival", "year": YEAR, "amount_fen": 60_000}
    refused = await stack.welfare_http.post("/welfare/caps/check", json=body, headers=cadre(campus))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "welfare.cap_exceeded"
    assert (problem["cap_fen"], problem["used_fen"], problem["remaining_fen"]) == (
        200_000,
        150_000,
        50_000,
    )
    assert problem["cap_words"] == "贰仟元整" and problem["remaining_words"] == "伍佰元整"
    assert "上限 2000.00 元" in problem["title"] and "尚余 500.00 元" in problem["title"]
    fits = {**body, "amount_fen": 50_000}
    ok = await stack.welfare_http.post("/welfare/caps/check", json=fits, headers=cadre(campus))
    assert ok.status_code == 200 and ok.json()["remaining_fen"] == 50_000
    # Another campus's cadre may not look; the member reads their own totals.
    other = await stack.welfare_http.post("/welfare/caps/check", json=fits, headers=cadre("main"))
    assert other.status_code == 403
    own = await stack.welfare_http.get(
        f"/welfare/caps/{member}/{YEAR}", headers=bearer(member, ["member"], [campus])
    )
    festival = next(c for c in own.json()["categories"] if c["category"] == "festival")
    assert festival["used_fen"] == 150_000

    # The Python API part 2 calls refuses with the same facts; ten claims at once of 200 元
    # against the 500 元 left: exactly two fit, never a third.
    with pytest.raises(Refused) as raised:
        await caps.claim(CapRequest(member, Category.festival, YEAR, 60_000, f"k-{member}-2"))
    assert raised.value.details["remaining_fen"] == 50_000
    outcomes = await asyncio.gather(
        *(
            caps.try_claim(CapRequest(member, Category.festival, YEAR, 20_000, f"c-{member}-{i}"))
            for i in range(10)
        )
    )
    assert sum(o.claimed for o in outcomes) == 2
    assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 190_000
    # A release gives back once, however often asked.
    assert await caps.release(f"k-{member}-1") and await caps.release(f"k-{member}-1")
    assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 40_000


async def test_plan_terms_follow_the_policy_profile(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    cash = terms([campus])
    cash["options"][1]["form"] = "cash"
    answer = await stack.welfare_http.post("/welfare/plans", json=cash, headers=cadre(campus))
    assert answer.status_code == 422 and answer.json()["code"] == "welfare.form_refused"
    dear = terms([campus])
    dear["options"][1]["price_fen"] = 31_000
    answer = await stack.welfare_http.post("/welfare/plans", json=dear, headers=cadre(campus))
    assert answer.json()["code"] == "plan.option_over_standard"
    over = terms([campus], standard=250_000)
    answer = await stack.welfare_http.post("/welfare/plans", json=over, headers=cadre(campus))
    assert answer.json()["code"] == "plan.standard_over_cap"
    # Spent from an income line or a heading, it would publish and every issue be refused.
    for line, code in (
        ("income_dues", "funds.wrong_kind"),
        ("spend_activity", "funds.heading_line"),
    ):
        wrong = {**terms([campus]), "budget_line": line}
        answer = await stack.welfare_http.post("/welfare/plans", json=wrong, headers=cadre(campus))
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == code and answer.json()["line"] == line
    elsewhere = await stack.welfare_http.post(
        "/welfare/plans", json=terms([campus]), headers=cadre("main")
    )
    assert elsewhere.status_code == 403
    made = await stack.welfare_http.post(
        "/welfare/plans", json=terms([campus]), headers=cadre(campus)
    )
    plan_id = made.json()["id"]
    early = await stack.welfare_http.post(
        f"/welfare/plans/{plan_id}/publication", headers=cadre(campus)
    )
    assert early.status_code == 409 and early.json()["code"] == "plan.not_approved"
    by_cadre = await stack.welfare_http.post(
        f"/welfare/plans/{plan_id}/approval", headers=cadre(campus)
    )
    assert by_cadre.status_code == 403
    copied = await stack.welfare_http.post(
        f"/welfare/plans/{plan_id}/copy", json={"year": YEAR + 1}, headers=cadre(campus)
    )
    assert copied.status_code == 201, copied.text
    assert copied.json()["year"] == YEAR + 1 and copied.json()["status"] == "draft"
    assert copied.json()["copied_from"] == plan_id


async def test_the_festival_year_total_counts_across_plans(plans: Stack):
    stack = plans
    one, two = await new_campus(stack), await new_campus(stack)
    first, second = await join(stack, one), await join(stack, two)
    await in_directory(stack, first)
    await in_directory(stack, second)
    _plan_a, done = await published(stack, terms([one], standard=120_000))
    assert done["created"] == 1 and done["capped"] == 0
    body = terms([one, two], standard=100_000)
    body["festival"], body["title"] = "mid_autumn", "中秋福利"
    plan_b, done = await published(stack, body)
    # 1200 元 used: 1000 more would pass 2000 元 for the first, not for the second.
    assert done == {"created": 1, "existing": 0, "capped": 1, "resumed": False}
    capped = await stack.welfare_http.get(f"/welfare/plans/{plan_b}/capped", headers=CHAIR)
    [row] = capped.json()["items"]
    assert row["member_id"] == first
    assert (row["cap_fen"], row["used_fen"], row["remaining_fen"]) == (200_000, 120_000, 80_000)
    assert row["remaining_words"] == "捌佰元整"
    totals = await stack.welfare_http.get(f"/welfare/caps/{second}/{YEAR}", headers=cadre(two))
    festival = next(c for c in totals.json()["categories"] if c["category"] == "festival")
    assert festival["used_fen"] == 100_000 and festival["remaining_fen"] == 100_000


async def test_publication_is_idempotent(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    members = [await join(stack, campus, DEPTS[i % 2]) for i in range(4)]
    for member in members:
        await in_directory(stack, member)
    plan_id, done = await published(stack, terms([campus]))
    assert done["created"] == 4
    again = await stack.welfare_http.post(
        f"/welfare/plans/{plan_id}/publication", headers=cadre(campus)
    )
    assert again.json() == {"created": 0, "existing": 0, "capped": 0, "resumed": True}
    # A distribution resumed after a crash (or run twice at once) creates nothing twice.
    context = stack.welfare.context.plans
    plan: Plan = await context.plans.require(plan_id)
    runs = await asyncio.gather(*(distribute(context, plan, Actor("test")) for _ in range(2)))
    assert [r.created for r in runs] == [0, 0] and [r.existing for r in runs] == [4, 4]
    caps = stack.welfare.context.policy.caps
    for member in members:
        assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 30_000
    created = [
        e
        for e in await events_of(stack, "welfare.entitlement", plan_id)
        if e["type"] == "welfare.entitlement.created.v1"
    ]
    assert sorted(e["data"]["member_id"] for e in created) == sorted(members)
    for event in created:  # nothing personal beyond the member id
        assert set(event["data"]) == {
            "entitlement_id",
            "plan_id",
            "member_id",
            "campus",
            "year",
            "standard_fen",
            "late",
        }
    [publication] = [
        e
        for e in await events_of(stack, "welfare.plan", plan_id)
        if e["type"] == "welfare.plan.published.v1"
    ]
    assert publication["data"]["options"] == ["zongzi", "tea"]


async def test_a_member_who_joins_before_the_deadline_is_entitled_when_the_plan_says_so(
    plans: Stack,
):
    stack = plans
    campus = await new_campus(stack)
    early = await join(stack, campus)
    await in_directory(stack, early)
    late_plan, _ = await published(stack, terms([campus]))
    strict = terms([campus], late_eligible=False)
    strict["festival"] = "mid_autumn"
    strict_plan, _ = await published(stack, strict)
    late = await join(stack, campus, "数学组")
    store = stack.welfare.context.plans.entitlements

    async def entitled() -> bool:
        return await store.get(f"{late_plan}:{late}") is not None

    await wait_until(entitled, 30, "the late joiner's entitlement")
    found = await store.require(f"{late_plan}:{late}")
    assert found.late is True and found.department == "数学组"
    await in_directory(stack, late)
    await asyncio.sleep(0.5)
    assert await store.get(f"{strict_plan}:{late}") is None


async def test_a_member_transferred_into_a_plans_campus_is_entitled_once(plans: Stack):
    stack = plans
    home, there = await new_campus(stack), await new_campus(stack)
    member = await join(stack, home, "数学组")
    await in_directory(stack, member)
    home_body = terms([home])
    home_body["festival"], home_body["title"] = "mid_autumn", "中秋福利"
    home_plan, _ = await published(stack, home_body)
    plan_id, done = await published(stack, terms([there]))
    assert done["created"] == 0  # not there yet
    # Moved at once: welfare's list of plans may not show the publication yet.
    moved = await stack.members_http.post(
        f"/members/{member}/transfer", json={"to_campus": there}, headers=CHAIR
    )
    assert moved.status_code == 200, moved.text
    store = stack.welfare.context.plans.entitlements
    entitlement_id = f"{plan_id}:{member}"

    async def entitled() -> bool:
        return await store.get(entitlement_id) is not None

    await wait_until(entitled, 30, "the transferred member's entitlement")

    # The transfer delivered again: the same envelope, and five copies under fresh envelope
    # ids at once (as a republish would, past the consumer's processed markers).
    [record] = [
        r
        for r in await read_all(stack.bootstrap, stack.topic("members.member"))
        if r.value
        and json.loads(r.value)["type"] == "members.member.transferred.v1"
        and json.loads(r.value)["data"]["member_id"] == member
    ]
    envelope = CloudEvent.from_json_bytes(record.value)
    consumer = stack.welfare.consumer
    await consumer.dispatch(envelope)
    copies = [envelope.model_copy(update={"id": str(uuid.uuid4())}) for _ in range(5)]
    await asyncio.gather(*(consumer.dispatch(c) for c in copies))

    found = await store.require(entitlement_id)
    assert (found.campus, found.department, found.late) == (there, "数学组", True)
    assert found.status.value == "open"
    assert [c.action for c in await store.history(entitlement_id)] == ["late"]
    caps = stack.welfare.context.policy.caps
    # Counted once: this plan's 300 元 and the home campus's 300 元, nothing twice.
    assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 60_000
    created = [
        e
        for e in await events_of(stack, "welfare.entitlement", plan_id)
        if e["type"] == "welfare.entitlement.created.v1"
    ]
    assert [(e["data"]["member_id"], e["data"]["late"]) for e in created] == [(member, True)]
    # Moving out took nothing away: the home campus's gift is still theirs to choose.
    kept = await store.require(f"{home_plan}:{member}")
    assert kept.status.value == "open" and kept.campus == home


async def test_the_default_applies_after_the_deadline_with_two_runtimes(plans: Stack, infra):
    stack = plans
    campus = await new_campus(stack)
    chooser, silent = await join(stack, campus), await join(stack, campus)
    await in_directory(stack, chooser)
    await in_directory(stack, silent)
    deadline = datetime.now(UTC) + timedelta(seconds=4)
    plan_id, _ = await published(stack, terms([campus], deadline=deadline.isoformat()))
    mine = bearer(chooser, ["member"], [campus])
    chosen = await stack.welfare_http.post(
        f"/welfare/entitlements/{plan_id}:{chooser}/choice", json={"option": "tea"}, headers=mine
    )
    assert chosen.status_code == 200 and chosen.json()["option"] == "tea"
    not_mine = await stack.welfare_http.post(
        f"/welfare/entitlements/{plan_id}:{silent}/choice", json={"option": "tea"}, headers=mine
    )
    assert not_mine.status_code == 403
    # A second replica of welfare on the same database runs the same job.
    settings = settings_for(
        type(stack.welfare.settings), infra, stack.prefix, plan_deadline_check_s=1
    )
    twin = welfare_bootstrap(settings, configure_logs=False)
    await twin.start()
    try:
        store = stack.welfare.context.plans.entitlements

        async def defaulted() -> bool:
            found = await store.get(f"{plan_id}:{silent}")
            return found is not None and found.status.value == "chosen"

        await wait_until(defaulted, 30, "the default after the deadline")
        await asyncio.sleep(2.5)  # both replicas ticked again after it
    finally:
        await twin.stop()
    found = await store.require(f"{plan_id}:{silent}")
    assert found.option == "zongzi" and found.defaulted is True
    history = await store.history(f"{plan_id}:{silent}")
    assert [c.action for c in history] == ["publish", "default"]
    kept = await store.require(f"{plan_id}:{chooser}")
    assert kept.option == "tea" and kept.defaulted is False
    late = await stack.welfare_http.post(
        f"/welfare/entitlements/{plan_id}:{chooser}/choice",
        json={"option": "zongzi"},
        headers=mine,
    )
    assert late.status_code == 409 and late.json()["code"] == "entitlement.deadline_passed"
    chosen_events = [
        e
        for e in await events_of(stack, "welfare.entitlement", plan_id)
        if e["type"] == "welfare.entitlement.chosen.v1"
    ]
    assert sorted(e["data"]["member_id"] for e in chosen_events) == sorted([chooser, silent])
    closed = [
        e
        for e in await events_of(stack, "welfare.plan", plan_id)
        if e["type"] == "welfare.plan.closed.v1"
    ]
    assert len(closed) == 1


async def test_a_member_who_withdraws_has_the_unissued_entitlement_voided(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    member = await join(stack, campus)
    await in_directory(stack, member)
    plan_id, _ = await published(stack, terms([campus]))
    caps = stack.welfare.context.policy.caps
    assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 30_000
    left = await stack.members_http.post(f"/members/{member}/withdraw", headers=cadre(campus))
    assert left.status_code == 200, left.text
    store = stack.welfare.context.plans.entitlements

    async def voided() -> bool:
        return (await store.require(f"{plan_id}:{member}")).status.value == "voided"

    await wait_until(voided, 30, "the entitlement voided through members.member")
    assert (await store.require(f"{plan_id}:{member}")).voided_reason == "withdrawn"
    assert (await caps.standing(member, Category.festival, YEAR)).used_fen == 0
    [event] = [
        e
        for e in await events_of(stack, "welfare.entitlement", plan_id)
        if e["type"] == "welfare.entitlement.voided.v1"
    ]
    assert event["data"]["member_id"] == member and event["data"]["reason"] == "withdrawn"


async def test_a_member_who_dies_has_the_unissued_entitlement_voided(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    member = await join(stack, campus)
    await in_directory(stack, member)
    plan_id, _ = await published(stack, terms([campus]))
    died = await stack.members_http.post(f"/members/{member}/decease", headers=cadre(campus))
    assert died.status_code == 200, died.text
    store = stack.welfare.context.plans.entitlements

    async def voided() -> bool:
        return (await store.require(f"{plan_id}:{member}")).status.value == "voided"

    await wait_until(voided, 30, "the entitlement voided through members.member")
    assert (await store.require(f"{plan_id}:{member}")).voided_reason == "deceased"


async def test_concurrent_issue_requests_post_the_ledger_once_per_entitlement(plans: Stack):
    stack = plans
    campus = await new_campus(stack)
    members = [await join(stack, campus) for _ in range(3)]
    elsewhere = await join(stack, campus, "数学组")
    for member in [*members, elsewhere]:
        await in_directory(stack, member)
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{campus}/{YEAR}",
        json={"lines": {"spend_activity_festival": 1_000_000}, "note": "委员会批准"},
        headers=CHAIR,
    )
    assert adopted.status_code == 201, adopted.text
    plan_id, _ = await published(stack, terms([campus]))
    for member in members[:2]:
        answer = await stack.welfare_http.post(
            f"/welfare/entitlements/{plan_id}:{member}/choice",
            json={"option": "tea"},
            headers=bearer(member, ["member"], [campus]),
        )
        assert answer.status_code == 200
    store = stack.welfare.context.plans.entitlements

    async def listed() -> bool:
        found = await store.find({"plan_id": plan_id, "status": "chosen"})
        return len(found) == 2

    await wait_until(listed, 30, "the choices in the list view")
    batch = {"campus": campus, "department": "语文组"}
    answers = await asyncio.gather(
        *(
            stack.welfare_http.post(
                f"/welfare/plans/{plan_id}/issues", json=batch, headers=cadre(campus)
            )
            for _ in range(6)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sum(a.json()["issued"] for a in answers) == 2  # the third has not chosen yet
    books = stack.welfare.context.funds.books
    payments = [e for e in await books.entries(f"{campus}:{YEAR}") if e["kind"] == "payment"]
    assert sorted(e["cause_ref"] for e in payments) == sorted(
        f"welfare.entitlement:{plan_id}:{m}" for m in members[:2]
    )
    assert {e["amount_fen"] for e in payments} == {28_000}
    check = await stack.welfare_http.get(
        f"/funds/ledgers/{campus}/{YEAR}/check",
        headers=bearer("aud", ["auditor"], [campus]),
    )
    assert check.json()["intact"] is True

    # The member confirms receipt; the sheet and the report say who has what.
    mine = bearer(members[0], ["member"], [campus])
    got = await stack.welfare_http.post(
        f"/welfare/entitlements/{plan_id}:{members[0]}/receipt", headers=mine
    )
    assert got.status_code == 200 and got.json()["status"] == "received"
    early = await stack.welfare_http.post(
        f"/welfare/entitlements/{plan_id}:{members[2]}/receipt",
        headers=bearer(members[2], ["member"], [campus]),
    )
    assert early.status_code == 409
    sheet = await stack.welfare_http.get(
        f"/welfare/plans/{plan_id}/signoff/{campus}/语文组", headers=cadre(campus)
    )
    assert len(sheet.json()["rows"]) == 3 and sheet.json()["rows"][0]["name"] == "王芳"
    xlsx = await stack.welfare_http.get(
        f"/welfare/plans/{plan_id}/signoff/{campus}/语文组/sheet.xlsx", headers=cadre(campus)
    )
    book = load_workbook(io.BytesIO(xlsx.content)).active
    assert book is not None and book.max_row == 4
    mine_list = await stack.welfare_http.get(
        "/welfare/entitlements/mine", params={"year": YEAR}, headers=mine
    )
    assert mine_list.json()["received_fen"] == 28_000

    async def reported() -> dict[str, Any]:
        answer = await stack.welfare_http.get(f"/welfare/plans/{plan_id}/report", headers=CHAIR)
        return answer.json()

    async def settled() -> bool:
        return (await reported())["by_status"] == {"received": 1, "issued": 1, "open": 2}

    await wait_until(settled, 30, "the report")
    found = await reported()
    assert found["by_option"] == {"tea": {"count": 2, "amount_fen": 56_000}}
    assert found["by_campus"][campus] == {"count": 4, "issued_fen": 56_000}
    assert sorted(w["member_id"] for w in found["not_collected"]) == sorted(
        [members[1], members[2], elsewhere]
    )
    sheet_x = await stack.welfare_http.get(f"/welfare/plans/{plan_id}/report.xlsx", headers=CHAIR)
    assert load_workbook(io.BytesIO(sheet_x.content)).active.max_row == 4  # type: ignore[union-attr]
    issued = [
        e
        for e in await events_of(stack, "welfare.entitlement", plan_id)
        if e["type"] == "welfare.entitlement.issued.v1"
    ]
    assert len(issued) == 2

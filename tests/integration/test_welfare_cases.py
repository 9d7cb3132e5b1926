"""Condolence cases (慰问) on the real Kafka and MongoDB wire: donors of a blood drive,
a retirement and a death raise their cases once however often the events arrive; the steps
raise → approve → pay post one ledger entry; the per-person cap refuses with the exact 422
and holds under concurrency; visit notes are sealed, never on a topic and closed to a cadre
of another campus."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from services.welfare.policy.caps import CapRequest
from shared.envelope import CloudEvent
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.vocabulary.welfare_plans import Category
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.kafka_tools import read_all, wait_caught_up, wait_until

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"
CAMPUS = "west"
CHAIR = bearer("chair-w", ["admin"], [CAMPUS])
CADRE = bearer("cadre-w", ["cadre"], [CAMPUS])
CADRE_EAST = bearer("cadre-e", ["cadre"], ["east"])
FINANCE = bearer("fin-w", ["finance"], [CAMPUS])
# As an auditor signs in: 经费审查委员 is `auditor`, and a member too (membership.grants).
AUDITOR = bearer("aud-w", ["auditor", "member"], [CAMPUS])
WELFARE_TOPICS = ("welfare.case", "welfare.visit", "welfare.ledger")


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
    return event


@pytest.fixture(scope="module")
async def care(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["members", "events", "welfare"])
    try:
        budget = {"lines": {"spend_activity_other": 10_000_000}, "note": "委员会批准"}
        adopted = await s.welfare_http.post(
            f"/funds/budgets/{CAMPUS}/2026", json=budget, headers=CHAIR
        )
        assert adopted.status_code == 201, adopted.text
        yield s
    finally:
        await close_stack(s)


async def member_in_welfare(stack: Stack, name: str = "王芳", **over: Any) -> str:
    staff_no = f"W{uuid.uuid4().hex[:6].upper()}"
    member = await join(stack, staff_no, name=name, campus=CAMPUS, **over)
    directory = stack.welfare.db[MEMBER_DIRECTORY]

    async def known() -> bool:
        return await directory.find_one({"_id": member["id"]}) is not None

    await wait_until(known, 60, "the member in welfare's directory")
    return str(member["id"])


async def cases_where(stack: Stack, **params: Any) -> list[dict[str, Any]]:
    found = await stack.welfare_http.get("/cases", params={**params, "limit": 200}, headers=CHAIR)
    assert found.status_code == 200, found.text
    return list(found.json()["items"])


async def welfare_published(stack: Stack) -> None:
    async def empty() -> bool:
        return await stack.welfare.relay.backlog() == 0

    await wait_until(empty, 30, "welfare's outbox to be published")


async def replay(stack: Stack, topic: str, keep: Any) -> int:
    """Deliver the topic's matching records to welfare again, five times each, under fresh
    envelope ids (as a republish would), also at once."""
    records = [
        CloudEvent.from_json_bytes(r.value)
        for r in await read_all(stack.bootstrap, stack.topic(topic), 2000)
        if keep(json.loads(r.value))
    ]
    consumer = stack.welfare.consumer
    copies = [e.model_copy(update={"id": str(uuid.uuid4())}) for e in records for _ in range(5)]
    await asyncio.gather(*(consumer.dispatch(c) for c in copies))
    return len(records)


async def test_blood_drive_donors_become_cases_once(care: Stack):
    stack = care
    door = bearer("door-w", ["cadre"], [CAMPUS])
    drive = await kit.activity(
        stack, kind="blood_donation", title="冬季无偿献血", campus=CAMPUS, capacity=10
    )
    donors = [await member_in_welfare(stack, name=f"献血者{i}") for i in range(3)]
    await kit.known_to_events(stack, *donors)
    for donor in donors[:2]:  # the third signs up and does not come
        signed = await kit.sign_up(stack, drive["id"], donor, campus=CAMPUS)
        assert signed.json()["status"] == "confirmed", signed.text
        checked = await stack.events_http.post(
            f"/activities/{drive['id']}/checkins",
            json={"code": signed.json()["code"]},
            headers=door,
        )
        assert checked.status_code == 200, checked.text
    await kit.known_to_events(stack, donors[2])
    await kit.sign_up(stack, drive["id"], donors[2], campus=CAMPUS)

    async def raised() -> bool:
        return len(await cases_where(stack, source_ref=drive["id"])) == 2

    await wait_until(raised, 60, "the donors' cases")
    found = await cases_where(stack, source_ref=drive["id"])
    assert sorted(c["member_id"] for c in found) == sorted(donors[:2])
    assert {(c["kind"], c["source"], c["status"]) for c in found} == {
        ("blood_donation", "blood_donation", "raised")
    }
    assert all(c["member_name"].startswith("献血者") for c in found)

    replayed = await replay(
        stack, "events.attendance", lambda e: e["data"]["activity_id"] == drive["id"]
    )
    assert replayed == 2
    assert len(await cases_where(stack, source_ref=drive["id"])) == 2
    await welfare_published(stack)
    raised_events = [
        conforms(json.loads(r.value))
        for r in await read_all(stack.bootstrap, stack.topic("welfare.case"), 2000)
        if json.loads(r.value)["data"]["member_id"] in donors
    ]
    assert len(raised_events) == 2
    assert set(raised_events[0]["data"]) == {
        "case_id", "member_id", "campus", "kind", "amount_fen", "year", "source"
    }  # fmt: skip


async def test_retirement_and_death_raise_their_cases_once(care: Stack):
    stack = care
    member = await member_in_welfare(stack, name="李老师")
    url = f"/members/{member}"
    retired = await stack.members_http.post(
        f"{url}/retire", json={"on": "2026-12-31"}, headers=CADRE
    )
    assert retired.status_code == 200, retired.text
    died = await stack.members_http.post(f"{url}/decease", headers=CADRE)
    assert died.status_code == 200, died.text

    async def both() -> bool:
        kinds = {c["kind"] for c in await cases_where(stack, member_id=member)}
        return kinds == {"retirement", "death_member"}

    await wait_until(both, 60, "the retirement and bereavement cases")
    assert await replay(stack, "members.member", lambda e: e["data"]["member_id"] == member) >= 3
    found = await cases_where(stack, member_id=member)
    assert sorted((c["kind"], c["source"]) for c in found) == [
        ("death_member", "death"),
        ("retirement", "retirement"),
    ]
    retirement = next(c for c in found if c["kind"] == "retirement")
    assert retirement["occurred_on"] == "2026-12-31" and retirement["amount_fen"] == 100_000


async def raise_(stack: Stack, member: str, kind: str, amount: int, headers=CADRE) -> Any:
    body = {
        "member_id": member,
        "kind": kind,
        "amount_fen": amount,
        "summary": "慰问",
        "occurred_on": "2026-11-20",
    }
    return await stack.welfare_http.post("/cases", json=body, headers=headers)


async def approve(stack: Stack, case_id: str) -> Any:
    return await stack.welfare_http.post(f"/cases/{case_id}/approve", json={}, headers=CHAIR)


async def pay(stack: Stack, case_id: str) -> Any:
    body = {"voucher_no": "记-1120", "paid_on": "2026-11-25"}
    return await stack.welfare_http.post(f"/cases/{case_id}/pay", json=body, headers=FINANCE)


async def case_payments(stack: Stack, case_id: str, year: int = 2026) -> list[dict[str, Any]]:
    entries = await stack.welfare.context.funds.books.entries(f"{CAMPUS}:{year}")
    return [e for e in entries if e["kind"] == "payment" and case_id in (e.get("cause") or "")]


async def test_steps_post_once_and_the_cap_refuses_with_the_exact_422(care: Stack):
    stack = care
    member = await member_in_welfare(stack)
    first = await raise_(stack, member, "marriage", 60_000)
    assert first.status_code == 201, first.text
    case = first.json()
    assert case["status"] == "raised" and case["steps"] == ["approve", "decline", "cancel"]
    # Only the chair approves; finance pays only what is approved.
    assert (await pay(stack, case["id"])).json()["code"] == "case.invalid_transition"
    refused = await stack.welfare_http.post(f"/cases/{case['id']}/approve", json={}, headers=CADRE)
    assert refused.status_code == 403 and refused.json()["code"] == "auth.forbidden"
    assert (await approve(stack, case["id"])).json()["status"] == "approved"
    # Five payments at once: one pays, one ledger entry.
    answers = await asyncio.gather(*(pay(stack, case["id"]) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [200] + [409] * 4
    paid = next(a.json() for a in answers if a.status_code == 200)
    assert paid["status"] == "paid" and paid["ledger_entry_id"].startswith(f"{CAMPUS}:2026#")
    [entry] = await case_payments(stack, case["id"])
    assert entry["amount_fen"] == 60_000 and entry["line"] == "spend_activity_other"
    # It counts in the member's running totals of the policy profile (福利限额台账).
    totals = await stack.welfare_http.get(f"/welfare/caps/{member}/2026", headers=CHAIR)
    assert totals.status_code == 200, totals.text
    [marriage] = [t for t in totals.json()["categories"] if t["category"] == "marriage"]
    assert (marriage["cap_fen"], marriage["used_fen"]) == (100_000, 60_000)

    second = (await raise_(stack, member, "marriage", 60_000)).json()
    await approve(stack, second["id"])
    over = await pay(stack, second["id"])
    assert over.status_code == 422, over.text
    problem = over.json()
    assert problem["code"] == "welfare.cap_exceeded"
    assert (problem["cap_fen"], problem["used_fen"], problem["remaining_fen"]) == (
        100_000,
        60_000,
        40_000,
    )
    assert problem["amount_fen"] == 60_000 and problem["category"] == "marriage"
    assert "尚余 400.00 元" in problem["title"]
    assert await case_payments(stack, second["id"]) == []  # nothing posted
    again = (await stack.welfare_http.get(f"/cases/{second['id']}", headers=CHAIR)).json()
    assert again["status"] == "approved"
    # The chair approves less: it fits what remains.
    third = (await raise_(stack, member, "marriage", 40_000)).json()
    await approve(stack, third["id"])
    assert (await pay(stack, third["id"])).status_code == 200
    # Cancelling the refused one frees nothing it never counted.
    cancelled = await stack.welfare_http.post(
        f"/cases/{second['id']}/cancel", json={"note": "重复登记"}, headers=CHAIR
    )
    assert cancelled.json()["status"] == "cancelled"


async def test_a_payment_the_ledger_refuses_counts_nothing_and_counts_once_when_paid(
    care: Stack,
):
    # West has no 2025 budget: the ledger refuses the case's money. The member's totals must
    # say what was paid, or their later cases are refused with a wrong 422.
    stack = care
    member = await member_in_welfare(stack)
    body = {
        "member_id": member,
        "kind": "marriage",
        "amount_fen": 60_000,
        "summary": "慰问",
        "occurred_on": "2025-11-20",
    }
    case = (await stack.welfare_http.post("/cases", json=body, headers=CADRE)).json()
    assert (await approve(stack, case["id"])).json()["status"] == "approved"
    paying = {"voucher_no": "记-1125", "paid_on": "2025-11-25"}

    async def pay_2025(case_id: str) -> httpx.Response:
        return await stack.welfare_http.post(f"/cases/{case_id}/pay", json=paying, headers=FINANCE)

    async def used() -> int:
        totals = await stack.welfare_http.get(f"/welfare/caps/{member}/2025", headers=CHAIR)
        [marriage] = [t for t in totals.json()["categories"] if t["category"] == "marriage"]
        return int(marriage["used_fen"])

    for _ in range(2):  # refused, and refused again when tried again
        refused = await pay_2025(case["id"])
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "funds.no_budget"
        assert await used() == 0
    budget = {"lines": {"spend_activity_other": 1_000_000}, "note": "委员会批准"}
    adopted = await stack.welfare_http.post(
        f"/funds/budgets/{CAMPUS}/2025", json=budget, headers=CHAIR
    )
    assert adopted.status_code == 201, adopted.text
    paid = await pay_2025(case["id"])
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    assert await used() == 60_000  # once: neither the refused tries nor nothing
    assert [e["amount_fen"] for e in await case_payments(stack, case["id"], 2025)] == [60_000]
    assert (await pay_2025(case["id"])).json()["code"] == "case.invalid_transition"
    # What remains is the cap less what was paid: a later case of 400 元 fits exactly.
    later = (
        await stack.welfare_http.post("/cases", json={**body, "amount_fen": 40_000}, headers=CADRE)
    ).json()
    await approve(stack, later["id"])
    assert (await pay_2025(later["id"])).status_code == 200
    assert await used() == 100_000


async def test_two_pays_of_a_case_across_its_budget_count_it_once(
    care: Stack, monkeypatch: pytest.MonkeyPatch
):
    """Two pays of one case at once, the budget adopted between their postings: one refused,
    one through, both under one claim, which the refused one gives back. Each order is
    played by doing the twin's part inside this pay's posting."""
    from services.welfare.cases import handlers
    from services.welfare.cases.domain import cap_key
    from shared.errors import Conflict

    stack = care
    caps = stack.welfare.context.cases.caps
    posting = handlers.post_entry

    async def approved_case() -> tuple[str, str]:
        member = await member_in_welfare(stack)
        case = (await raise_(stack, member, "childbirth", 50_000)).json()
        assert (await approve(stack, case["id"])).json()["status"] == "approved"
        return member, case["id"]

    async def used(member: str) -> int:
        return (await caps.standing(member, Category.childbirth, 2026)).used_fen

    # This pay goes through; its twin, refused just before, gives the claim back meanwhile.
    member, case_id = await approved_case()

    async def twin_gives_back(*args: Any, **kwargs: Any) -> Any:
        posted = await posting(*args, **kwargs)
        assert await caps.release(cap_key(case_id))
        return posted

    monkeypatch.setattr(handlers, "post_entry", twin_gives_back)
    assert (await pay(stack, case_id)).status_code == 200
    assert await used(member) == 50_000

    # This pay is refused; its twin's posting went through meanwhile.
    member, case_id = await approved_case()

    async def twin_posts(*args: Any, **kwargs: Any) -> Any:
        await posting(*args, **kwargs)
        raise Conflict("funds.no_budget", "本年度预算尚未批准，不能支出")

    monkeypatch.setattr(handlers, "post_entry", twin_posts)
    assert (await pay(stack, case_id)).json()["code"] == "funds.no_budget"
    assert await used(member) == 50_000
    monkeypatch.setattr(handlers, "post_entry", posting)
    assert (await pay(stack, case_id)).status_code == 200  # the twin's step, done again
    assert await used(member) == 50_000
    assert len(await case_payments(stack, case_id)) == 1


async def test_a_member_raises_for_themself_only(care: Stack):
    stack = care
    me, other = await member_in_welfare(stack), await member_in_welfare(stack)
    mine = bearer(me, ["member"], [CAMPUS])
    own = await raise_(stack, me, "illness", 50_000, headers=mine)
    assert own.status_code == 201 and own.json()["source"] == "member"
    assert own.json()["member_name"] is None  # a member's answer names nobody
    theirs = await raise_(stack, other, "illness", 50_000, headers=mine)
    assert theirs.status_code == 403
    hardship = await raise_(stack, me, "hardship", 50_000, headers=mine)
    assert hardship.status_code == 403 and hardship.json()["code"] == "case.kind_for_cadres"
    listed = await stack.welfare_http.get("/cases", headers=mine)
    assert all(c["member_id"] == me for c in listed.json()["items"])
    peek = await stack.welfare_http.get(
        f"/cases/{own.json()['id']}", headers=bearer(other, ["member"], [CAMPUS])
    )
    assert peek.status_code == 404


async def test_the_cap_holds_under_concurrency(care: Stack):
    # The cases' cap book is the policy profile's (funds-plans), shared with festival gifts.
    caps = care.welfare.context.cases.caps
    assert caps is care.welfare.context.plans.caps
    member = f"m-cap{uuid.uuid4().hex[:8]}"
    category = Category.hospitalisation

    async def one(i: int) -> bool:
        request = CapRequest(member, category, 2026, 30_000, f"case:k{i}")
        return (await caps.try_claim(request)).claimed

    outcomes = await asyncio.gather(*(one(i) for i in range(12)), one(0), one(1))
    assert sum(outcomes[:12]) == 3  # 100,000 fen: three of 30,000
    assert (await caps.standing(member, category, 2026)).used_fen == 90_000
    # A cancelled case gives its amount back, once: a key that won (which ones win is the
    # race's choice), released twice.
    won = f"case:k{outcomes[:12].index(True)}"
    await caps.release(won)
    await caps.release(won)
    assert (await caps.standing(member, category, 2026)).used_fen == 60_000


async def test_visit_notes_are_sealed_and_kept_from_other_campuses(care: Stack):
    stack = care
    member = await member_in_welfare(stack)
    case = (await raise_(stack, member, "illness", 50_000)).json()
    secret = f"胃部手术后恢复中-{uuid.uuid4().hex[:6]}"
    body = {
        "visitors": ["张主席", "李委员"],
        "visited_on": "2026-11-22",
        "brought": "水果篮、慰问金",
        "notes": secret,
    }
    refused = await stack.welfare_http.post(
        f"/cases/{case['id']}/visits", json=body, headers=CADRE_EAST
    )
    assert refused.status_code == 403 and refused.json()["code"] == "auth.campus_forbidden"
    recorded = await stack.welfare_http.post(
        f"/cases/{case['id']}/visits", json=body, headers=CADRE
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["notes"] == secret

    async def listed() -> bool:
        found = await stack.welfare_http.get(f"/cases/{case['id']}/visits", headers=CHAIR)
        return [v["notes"] for v in found.json()] == [secret]

    await wait_until(listed, 30, "the visit in the chair's list")
    other = await stack.welfare_http.get(f"/cases/{case['id']}/visits", headers=CADRE_EAST)
    assert other.status_code == 403
    as_member = bearer(member, ["member"], [CAMPUS])
    assert (
        await stack.welfare_http.get(f"/cases/{case['id']}/visits", headers=as_member)
    ).status_code == 403
    # At rest: sealed in the change log and the list view.
    db = stack.welfare.db
    for coll in ("welfare_visits", "welfare_visits_changes"):
        async for doc in db[coll].find({}):
            stored = json.dumps(doc, default=str, ensure_ascii=False)
            assert secret not in stored
    log = await db["welfare_visits_changes"].find_one({"aggregate": recorded.json()["id"]})
    assert log["state"]["notes"].startswith("gh2:")
    # Never on a topic.
    await welfare_published(stack)
    for topic in WELFARE_TOPICS:
        for record in await read_all(stack.bootstrap, stack.topic(topic), 1500):
            assert secret not in record.value.decode()
            conforms(json.loads(record.value))


async def test_the_auditor_traces_a_ledger_payment_to_its_case_and_changes_nothing(care: Stack):
    stack = care
    member = await member_in_welfare(stack, name="周老师")
    paid_case = (await raise_(stack, member, "childbirth", 30_000)).json()
    assert (await approve(stack, paid_case["id"])).json()["status"] == "approved"
    paid = await pay(stack, paid_case["id"])
    assert paid.status_code == 200, paid.text
    secret = f"产后抑郁需关心-{uuid.uuid4().hex[:6]}"
    visit_body = {
        "visitors": ["张主席"],
        "visited_on": "2026-11-26",
        "brought": "鲜花",
        "notes": secret,
    }
    noted = await stack.welfare_http.post(
        f"/cases/{paid_case['id']}/visits", json=visit_body, headers=CADRE
    )
    assert noted.status_code == 201, noted.text

    # From the ledger's payment ("慰问事项 c-…") to the case it names.
    entries = await stack.welfare_http.get(
        f"/funds/ledgers/{CAMPUS}/2026/entries",
        params={"kind": "payment", "month": "2026-11", "limit": 500},
        headers=AUDITOR,
    )
    assert entries.status_code == 200, entries.text
    [entry] = [e for e in entries.json()["entries"] if paid_case["id"] in (e["cause"] or "")]
    named = re.search(r"慰问事项 (c-[0-9a-f]{12})", entry["cause"])
    assert named is not None and named.group(1) == paid_case["id"]
    read = await stack.welfare_http.get(f"/cases/{named.group(1)}", headers=AUDITOR)
    assert read.status_code == 200, read.text
    case = read.json()
    assert case["ledger_entry_id"] == entry["id"]
    assert (case["status"], case["amount_fen"], case["member_name"]) == ("paid", 30_000, "周老师")
    assert case["steps"] == []

    async def listed() -> bool:
        found = await stack.welfare_http.get(
            "/cases", params={"member_id": member}, headers=AUDITOR
        )
        return [(c["id"], c["status"]) for c in found.json()["items"]] == [
            (paid_case["id"], "paid")
        ]

    await wait_until(listed, 30, "the paid case in the auditor's list")
    listing = await stack.welfare_http.get("/cases", params={"limit": 200}, headers=AUDITOR)
    assert listing.status_code == 200 and {c["campus"] for c in listing.json()["items"]} == {CAMPUS}
    # Never the visit notes: not with the case, not through the visits.
    notes = await stack.welfare_http.get(f"/cases/{paid_case['id']}/visits", headers=AUDITOR)
    assert notes.status_code == 403
    for answer in (read, listing, notes):
        assert secret not in answer.text
    # Another campus's auditor reads nothing of west.
    east = bearer("aud-e", ["auditor", "member"], ["east"])
    assert (
        await stack.welfare_http.get(f"/cases/{paid_case['id']}", headers=east)
    ).status_code == 403

    # Every step refused, on cases where that step is open to the role it belongs to.
    raised = (await raise_(stack, member, "illness", 20_000)).json()
    approved = (
        await approve(stack, (await raise_(stack, member, "illness", 10_000)).json()["id"])
    ).json()
    assert approved["status"] == "approved"
    note = {"note": "审查"}
    attempts = [
        (f"/cases/{raised['id']}/approve", {}),
        (f"/cases/{raised['id']}/decline", note),
        (f"/cases/{raised['id']}/cancel", note),
        (f"/cases/{raised['id']}/visits", visit_body),
        (f"/cases/{approved['id']}/cancel", note),
        (f"/cases/{approved['id']}/pay", {"voucher_no": "记-1130", "paid_on": "2026-11-30"}),
    ]
    for path, body in attempts:
        refused = await stack.welfare_http.post(path, json=body, headers=AUDITOR)
        assert refused.status_code == 403, (path, refused.text)
    raising = await raise_(stack, member, "illness", 20_000, headers=AUDITOR)
    assert raising.status_code == 403, raising.text
    for before in (raised, approved):
        after = (await stack.welfare_http.get(f"/cases/{before['id']}", headers=CHAIR)).json()
        assert (after["status"], after["version"]) == (before["status"], before["version"])
    assert await case_payments(stack, approved["id"]) == []
    visits = stack.welfare.db["welfare_visits_changes"]
    assert await visits.count_documents({"state.case_id": paid_case["id"]}) == 1
    assert await visits.count_documents({"state.case_id": raised["id"]}) == 0


async def test_the_hardship_register_is_for_the_campus_cadres_only(care: Stack):
    stack = care
    member = await member_in_welfare(stack, name="赵师傅")
    reason = f"配偶重病、子女就学-{uuid.uuid4().hex[:6]}"
    body = {"member_id": member, "level": "special", "reason": reason}
    refused = await stack.welfare_http.post("/hardship", json=body, headers=CADRE_EAST)
    assert refused.status_code == 403
    opened = await stack.welfare_http.post("/hardship", json=body, headers=CADRE)
    assert opened.status_code == 201, opened.text
    file = opened.json()
    assert file["reason"] == reason and file["level_label"] == "特别困难"
    assert file["member_name"] == "赵师傅"  # as cases name their members, for the cadres
    twice = await stack.welfare_http.post("/hardship", json=body, headers=CADRE)
    assert twice.status_code == 409 and twice.json()["code"] == "hardship.open"
    url = f"/hardship/{file['id']}"
    for outsider in (CADRE_EAST, FINANCE, bearer(member, ["member"], [CAMPUS])):
        assert (await stack.welfare_http.get(url, headers=outsider)).status_code == 403
    helped = await stack.welfare_http.post(
        f"{url}/help",
        json={"given_on": "2026-01-20", "what": "春节送温暖慰问金", "amount_fen": 80_000},
        headers=CADRE,
    )
    assert helped.json()["help_fen"] == 80_000

    async def due(year: int) -> list[str]:
        found = await stack.welfare_http.get(
            "/hardship", params={"due_review": year}, headers=CHAIR
        )
        return [f["id"] for f in found.json()]

    async def listed_as_due() -> bool:
        return file["id"] in await due(2026)

    await wait_until(listed_as_due, 30, "the file among those due for review")
    listed = (await stack.welfare_http.get("/hardship", headers=CHAIR)).json()
    assert [f["member_name"] for f in listed if f["id"] == file["id"]] == ["赵师傅"]
    assert (await stack.welfare_http.get(url, headers=CHAIR)).json()["member_name"] == "赵师傅"
    kept = {"year": 2026, "outcome": "keep", "note": "仍困难，继续帮扶"}
    assert (
        await stack.welfare_http.post(f"{url}/reviews", json=kept, headers=CADRE)
    ).status_code == 200

    async def reviewed() -> bool:
        return file["id"] not in await due(2026)

    await wait_until(reviewed, 30, "the file no longer due for 2026")
    again = await stack.welfare_http.post(f"{url}/reviews", json=kept, headers=CHAIR)
    assert again.status_code == 409 and again.json()["code"] == "hardship.reviewed"
    closing = {"year": 2027, "outcome": "close", "note": "已脱困"}
    closed = await stack.welfare_http.post(f"{url}/reviews", json=closing, headers=CADRE)
    assert closed.json()["status"] == "closed"
    reopened = await stack.welfare_http.post("/hardship", json=body, headers=CADRE)
    assert reopened.status_code == 201 and reopened.json()["status"] == "open"
    assert [r["year"] for r in reopened.json()["reviews"]] == [2026, 2027]
    # On the topic: the member's id and what changed, never the reason; as the catalog says.
    await welfare_published(stack)
    records = await read_all(stack.bootstrap, stack.topic("welfare.hardship"), 1500)
    assert all(reason not in r.value.decode() for r in records)
    changes = [conforms(json.loads(r.value))["data"] for r in records]
    mine = [c["change"] for c in changes if c["member_id"] == member]
    assert mine == ["opened", "help_added", "reviewed", "reviewed", "closed", "reopened"]
    # The reason is sealed at rest.
    log = await stack.welfare.db["welfare_hardship_changes"].find_one({"aggregate": file["id"]})
    assert log["state"]["reason"].startswith("gh2:") and reason not in json.dumps(
        log, default=str, ensure_ascii=False
    )


async def test_the_demo_seeds_cases_at_every_step_once(care: Stack):
    from deploy.local.demo import care as demo
    from deploy.local.demo import funds as funds_demo

    stack = care
    people = demo._main_members()
    await stack.welfare.db[MEMBER_DIRECTORY].insert_many(
        [
            {"_id": m, "name": f"演示{i}", "campus": "main", "status": "active", "sequence": "1"}
            for i, m in enumerate(people)
        ]
    )
    transport = httpx.ASGITransport(app=stack.welfare.app)
    # The books first, as `make run` seeds them (deploy/local/demo/order.py): the budget the
    # demo cases are paid from is the funds demo's, not one this test adopts.
    added, _ = await funds_demo.seed("http://welfare", transport=transport)
    assert added == len(funds_demo.BUDGETS) + len(funds_demo.POSTINGS) + 1
    assert await demo.seed("http://welfare", transport=transport) == (len(demo.DEMO_CASES), 0)

    async def all_listed() -> bool:
        found = await stack.welfare_http.get(
            "/cases", params={"limit": 200}, headers=bearer("chair", ["admin"], ["main"])
        )
        return found.json()["total"] == len(demo.DEMO_CASES)

    await wait_until(all_listed, 30, "the demo cases in the list view")
    assert await demo.seed("http://welfare", transport=transport) == (0, len(demo.DEMO_CASES))
    found = await stack.welfare_http.get(
        "/cases", params={"limit": 200}, headers=bearer("chair", ["admin"], ["main"])
    )
    statuses = sorted(c["status"] for c in found.json()["items"])
    assert statuses == ["approved", "approved", "declined", "paid", "paid", "raised", "raised"]


async def test_a_visit_just_recorded_is_listed_for_its_cadre_before_the_list_has_it(care: Stack):
    stack = care
    member = await member_in_welfare(stack)
    case = (await raise_(stack, member, "illness", 30_000)).json()
    other = (await raise_(stack, member, "illness", 20_000)).json()
    body = {"visitors": ["张主席"], "visited_on": "2026-11-23", "brought": "鲜花"}
    made = await stack.welfare_http.post(f"/cases/{case['id']}/visits", json=body, headers=CADRE)
    assert made.status_code == 201, made.text
    visit_id = made.json()["id"]
    views = stack.welfare.db["welfare_visits"]

    async def in_view() -> bool:
        return await views.find_one({"_id": visit_id}) is not None

    await wait_until(in_view, 30, "the visit in the list view")
    # The list entry is written twice: at once, and by the consumer of the visit's event.
    # Both must be done before it is taken away, or the consumer's late write puts it back.
    topic = stack.topic("welfare.visit")

    async def published() -> bool:
        records = await read_all(stack.bootstrap, topic, timeout_ms=500)
        return any(visit_id in (r.key or b"").decode() for r in records)

    await wait_until(published, 30, "the visit's event on Kafka")
    await wait_caught_up(stack.bootstrap, stack.welfare.settings.consumer_group, topic)
    await views.delete_one({"_id": visit_id})  # as if the list had not caught up yet
    path = f"/cases/{case['id']}/visits"
    plain = await stack.welfare_http.get(path, headers=CADRE)
    assert plain.json() == []
    hinted = await stack.welfare_http.get(path, params={"recorded": visit_id}, headers=CADRE)
    assert [v["id"] for v in hinted.json()] == [visit_id]
    # Named on another case's list, it is not that case's visit.
    elsewhere = await stack.welfare_http.get(
        f"/cases/{other['id']}/visits", params={"recorded": visit_id}, headers=CADRE
    )
    assert elsewhere.json() == []
    bad = await stack.welfare_http.get(path, params={"recorded": "x"}, headers=CADRE)
    assert bad.status_code == 422

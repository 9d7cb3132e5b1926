"""Changing an aggregate on the real server: one winner, a current by-id read, one-writer views.

The proof asked of the pattern (shared/aggregate.py): 20 concurrent withdraw requests for one
member give exactly one 200, one event and one state change, and a by-id read right after
the 200 shows `withdrawn`; the list view follows; the audit trail says who, when and from
which request.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from shared.envelope import CloudEvent
from shared.events.members import MemberJoined
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.kafka_tools import read_all, wait_caught_up, wait_until

pytestmark = pytest.mark.integration


async def test_twenty_concurrent_withdrawals_give_one_200_one_event_one_change(stack: Stack):
    member = await join(stack, "W0001")
    url = f"/members/{member['id']}/withdraw"
    headers = stack.cadre_headers()

    async def withdraw_then_read():
        response = await stack.members_http.post(url, headers=headers)
        after = await stack.members_http.get(f"/members/{member['id']}", headers=headers)
        return response, after.json()

    results = await asyncio.gather(*(withdraw_then_read() for _ in range(20)))
    statuses = sorted(r.status_code for r, _ in results)
    assert statuses == [200] + [409] * 19, statuses
    for response, after in results:
        if response.status_code == 200:
            assert response.json()["status"] == "withdrawn" and response.json()["version"] == 2
            assert after["status"] == "withdrawn"  # the by-id read right after the 200
        else:
            body = response.json()
            # The losers re-read and the rule refused them, naming the state they found.
            assert body["code"] in ("member.invalid_transition", "concurrency.conflict")
            if body["code"] == "member.invalid_transition":
                assert body["current"] == "withdrawn" and "已退会" in body["title"]

    changes = await stack.members.db["members_changes"].find({}).sort("version", 1).to_list()
    assert [(c["version"], c["action"]) for c in changes] == [(1, "join"), (2, "withdraw")]
    topic = stack.topic("members.member")
    await wait_until(lambda: _published(stack), 30, "the relay to publish")
    records = [json.loads(r.value) for r in await read_all(stack.bootstrap, topic)]
    withdrawn = [e for e in records if e["type"] == "members.member.withdrawn.v1"]
    assert len(withdrawn) == 1 and withdrawn[0]["subject"] == member["id"]
    assert [e["sequence"] for e in records] == sorted(e["sequence"] for e in records)


async def _published(stack: Stack) -> bool:
    return await stack.members.relay.backlog() == 0


async def test_the_list_view_follows_every_change(module_stack: Stack):
    stack = module_stack
    member = await join(stack, "W0002")
    headers = stack.cadre_headers()

    async def listed_as(status: str) -> bool:
        page = (await stack.members_http.get("/members", headers=headers)).json()["items"]
        return [m["status"] for m in page if m["id"] == member["id"]] == [status]

    await wait_until(lambda: listed_as("active"), 15, "the joined member in the list")
    assert (
        await stack.members_http.post(f"/members/{member['id']}/withdraw", headers=headers)
    ).status_code == 200
    await wait_until(lambda: listed_as("withdrawn"), 15, "the withdrawal in the list")
    view = await stack.members.db["members"].find_one({"_id": member["id"]})
    assert view["version"] == 2  # written by the projection from the change log, nobody else


async def test_the_audit_trail_says_who_when_and_from_which_request(module_stack: Stack):
    stack = module_stack
    member = await join(stack, "W0003", phone="13800000003")
    trace = "0af7651916cd43dd8448eb211c80319c"
    response = await stack.members_http.post(
        f"/members/{member['id']}/withdraw",
        headers={**stack.cadre_headers(), "traceparent": f"00-{trace}-b7ad6b7169203331-01"},
    )
    assert response.status_code == 200
    auditor = bearer("audit-1", ["auditor"], ["*"])
    history = await stack.members_http.get(f"/members/{member['id']}/history", headers=auditor)
    assert history.status_code == 200, history.text
    joined, withdrew = history.json()
    assert (joined["action"], joined["by"], joined["events"]) == (
        "join",
        "cadre-1",
        ["members.member.joined.v2", "members.member.joined.v1", "members.contact.changed.v1"],
    )
    # Contact details stay masked for an auditor; an admin reads them.
    assert joined["changed"]["phone"] == {"from": None, "to": "138****0003"}
    admin = bearer("admin-1", ["admin"], ["*"])
    as_admin = await stack.members_http.get(f"/members/{member['id']}/history", headers=admin)
    assert as_admin.json()[0]["changed"]["phone"] == {"from": None, "to": "13800000003"}
    assert withdrew["request"] == trace and withdrew["by"] == "cadre-1"
    assert withdrew["changed"]["status"] == {"from": "active", "to": "withdrawn"}
    assert withdrew["events"] == ["members.member.withdrawn.v1", "members.contact.erased.v1"]
    assert withdrew["at"].endswith("+08:00")
    # A cadre may not read it; an auditor of another campus does not see the member at all.
    cadre = await stack.members_http.get(
        f"/members/{member['id']}/history", headers=stack.cadre_headers()
    )
    assert cadre.status_code == 403
    north = bearer("audit-n", ["auditor"], ["north"])
    elsewhere = await stack.members_http.get(f"/members/{member['id']}/history", headers=north)
    assert elsewhere.status_code == 404


async def test_a_withdrawal_reaches_the_directories_and_an_older_event_never_rolls_back(infra):
    stack = await build_stack(infra, ["members", "events", "welfare"])
    try:
        member = await join(stack, "W0004")
        headers = stack.cadre_headers()
        await stack.members_http.post(f"/members/{member['id']}/withdraw", headers=headers)
        for service in ("events", "welfare"):
            directory = stack.runtimes[service].db["member_directory"]

            async def withdrawn(directory=directory) -> bool:
                doc = await directory.find_one({"_id": member["id"]})
                return bool(doc) and doc["status"] == "withdrawn"

            await wait_until(withdrawn, 30, f"{service} to learn the withdrawal")
        # A `joined` arriving late (older sequence, an id never seen), handed to events'
        # handlers without Kafka: the directory keeps the newer fact.
        late = MemberJoined(
            member_id=member["id"],
            staff_no="W0004",
            name="王芳",
            campus="main",
            department="学前教育系",
            joined_on="2026-09-01",
        ).envelope(source="members", subject=member["id"], campus="main", sequence="0000000001.000")
        await stack.events.consumer.dispatch(CloudEvent.model_validate(late.model_dump()))
        doc = await stack.events.db["member_directory"].find_one({"_id": member["id"]})
        assert doc["status"] == "withdrawn" and doc["sequence"] == "0000000002.000"
        await wait_caught_up(
            stack.bootstrap, stack.events.settings.consumer_group, stack.topic("members.member")
        )
    finally:
        await close_stack(stack)


async def test_a_member_of_another_campus_cannot_be_withdrawn_or_seen(stack: Stack):
    member = await join(stack, "W0005", campus="east")
    west = bearer("cadre-w", ["cadre"], ["west"])
    response = await stack.members_http.post(f"/members/{member['id']}/withdraw", headers=west)
    assert response.status_code == 404 and response.json()["code"] == "member.not_found"
    missing = await stack.members_http.post("/members/m-nobody/withdraw", headers=west)
    assert missing.status_code == 404
    assert await stack.members.db["members_changes"].count_documents({}) == 1

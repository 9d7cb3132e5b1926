"""Helpers for the events tests: members enrolled through the members service, activities
drafted and published over events' HTTP API, and waits on what the consumers do."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration.conftest import Stack, bearer, join

__all__ = ["bearer"]
from tests.kafka_tools import wait_until

SHANGHAI_FMT = "%Y-%m-%dT%H:%M:%S+08:00"


def later(days: float = 7, hours: float = 0) -> str:
    """A moment in the future, as a cadre would type it (Beijing time with its offset)."""
    moment = datetime.now(UTC) + timedelta(days=days, hours=hours)
    return (moment + timedelta(hours=8)).replace(microsecond=0).strftime(SHANGHAI_FMT)


def cadre(campus: str = "main", subject: str = "cadre-1") -> dict[str, str]:
    return bearer(subject, ["cadre"], [campus])


def admin() -> dict[str, str]:
    return bearer("admin-1", ["admin"], ["*"])


def member(member_id: str, campus: str = "main") -> dict[str, str]:
    return bearer(member_id, ["member"], [campus])


async def enrol(stack: Stack, staff_no: str, **over: Any) -> str:
    """A member enrolled through the members service; returns the member id."""
    return (await join(stack, staff_no, **over))["id"]


async def enrol_many(stack: Stack, count: int, prefix: str, **over: Any) -> list[str]:
    gate = asyncio.Semaphore(16)

    async def one(i: int) -> str:
        async with gate:
            return await enrol(stack, f"{prefix}{i:04d}", name=f"老师{i}", **over)

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def in_directory(stack: Stack, count: int, prefix: str, **over: Any) -> list[str]:
    """Members written straight into events' member directory, as `members.member` events
    leave them there: for the sign-up tests, which are about seats, not about how events
    learns members (test_events_eligibility follows that path through the members service)."""
    ids = [f"m-{prefix.lower()}{i:05d}" for i in range(count)]
    docs = [
        {
            "_id": member_id,
            "staff_no": f"{prefix}{i:05d}",
            "name": f"老师{i}",
            "campus": "main",
            "department": "学前教育系",
            "status": "active",
            "roles": [],
            "sequence": "0000000001.000",
            **over,
        }
        for i, member_id in enumerate(ids)
    ]
    await stack.events.db[MEMBER_DIRECTORY].insert_many(docs)
    return ids


def demo_people(**over: Any) -> list[dict[str, Any]]:
    """The members demo's people (`deploy.local.demo.events.demo_signers`), as `members.member`
    leaves them in a directory: for the tests of the demo seeders, which sign them up."""
    from deploy.local.demo.events import demo_signers
    from services.members.membership.domain import member_id_for

    return [
        {
            "_id": member_id_for(staff_no),
            "staff_no": staff_no,
            "name": f"演示{i}",
            "campus": campus,
            "department": "语文组",
            "status": "active",
            "roles": [],
            "birth_year": 1985,
            "sequence": "0000000001.000",
            **over,
        }
        for i, (staff_no, campus) in enumerate(demo_signers())
    ]


async def shortlisted_and_voting(http: Any, campaign_url: str, nomination_id: str) -> None:
    """A campaign's nomination shortlisted and the campaign moved through review to voting (as
    an admin), back once the candidates' list view has it (it follows within a second)."""
    admin = bearer("kit-admin", ["admin"], ["*"])
    review = {"decision": "shortlisted"}
    reviewed = await http.post(
        f"{campaign_url}/nominations/{nomination_id}/review", json=review, headers=admin
    )
    assert reviewed.status_code == 200, reviewed.text
    for move in ({"to": "reviewing"}, {"to": "voting", "voting_closes_at": later(1)}):
        moved = await http.post(f"{campaign_url}/phase", json=move, headers=admin)
        assert moved.status_code == 200, moved.text

    async def listed() -> bool:
        shown = await http.get(campaign_url, headers=admin)
        return shown.status_code == 200 and bool(shown.json()["candidates"])

    await wait_until(listed, 30, "the shortlisted nomination in the candidates' view")


async def known_to_events(stack: Stack, *member_ids: str, status: str = "active") -> None:
    """Wait until events' member directory has the members (with the status)."""
    directory = stack.events.db[MEMBER_DIRECTORY]
    wanted = set(member_ids)

    async def arrived() -> bool:
        found = directory.find({"_id": {"$in": sorted(wanted)}, "status": status}, {"_id": 1})
        return len(await found.to_list()) == len(wanted)

    await wait_until(arrived, 60, f"{len(wanted)} member(s) in events' directory as {status}")


async def activity(
    stack: Stack, *, publish: bool = True, campus: str = "main", **over: Any
) -> dict[str, Any]:
    body = {
        "kind": "lecture",
        "title": "心理健康讲座",
        "campus": campus,
        "venue": "图书馆报告厅",
        "starts_at": later(7),
        "ends_at": later(7, 2),
        **over,
    }
    headers = bearer("cadre-1", ["cadre"], [campus])
    response = await stack.events_http.post("/activities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    if publish:
        response = await stack.events_http.post(
            f"/activities/{created['id']}/publish", headers=headers
        )
        assert response.status_code == 200, response.text
        created = response.json()
    return created


async def sign_up(
    stack: Stack, activity_id: str, member_id: str, guests: int = 0, campus: str = "main"
):
    return await stack.events_http.post(
        f"/activities/{activity_id}/registrations",
        json={"guests": guests},
        headers=member(member_id, campus),
    )


async def registration(stack: Stack, activity_id: str, member_id: str) -> dict[str, Any]:
    response = await stack.events_http.get(
        f"/activities/{activity_id}/registrations/{member_id}", headers=admin()
    )
    assert response.status_code == 200, response.text
    return response.json()


async def all_registrations(stack: Stack, activity_id: str) -> list[dict[str, Any]]:
    """Every registration of the activity from the list view: call after `settled`, when the
    view has caught up with the change log."""
    book = stack.events.context.registrations.book
    found = await book.store.find({"activity_id": activity_id}, limit=100_000)
    return [r.model_dump() for r in found]


async def settled(stack: Stack, *topics: str) -> None:
    """Everything events wrote is published and its consumer handled it (promotions and
    cancellations follow events; a handler may write and publish again, so twice)."""
    from tests.kafka_tools import wait_caught_up

    async def published() -> bool:
        return await stack.events.relay.backlog() == 0

    group = stack.events.settings.consumer_group
    for _ in range(2):
        await wait_until(published, 60, "events' outbox to be published")
        for topic in ("events.registration", "events.activity", *topics):
            await wait_caught_up(stack.bootstrap, group, stack.topic(topic), 60)
    await wait_until(published, 60, "events' outbox to be published")

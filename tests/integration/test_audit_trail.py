"""GET /audit: the audit log and the change logs, merged, filtered, scoped, paged, read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timeutil import local_today
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
AUDITOR = bearer("auditor-main", ["auditor"], ["main"])


@pytest.fixture
async def members_only(infra):
    stack = await build_stack(infra, ["members"])
    try:
        yield stack
    finally:
        await close_stack(stack)


async def audit(stack: Stack, headers=AUDITOR, **params) -> dict:
    response = await stack.members_http.get("/audit", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_audit_trail_merges_filters_and_scopes(members_only: Stack):
    stack = members_only
    main = await join(stack, "U0001")
    east = await join(stack, "U0002", campus="east")
    cadre = stack.cadre_headers()
    await stack.members_http.patch(
        f"/members/{main['id']}", json={"position": "教研组长"}, headers=cadre
    )
    await stack.members_http.put(
        f"/members/{main['id']}/password", json={"password": "Chushi-2026"}, headers=cadre
    )
    await stack.members_http.post(
        f"/members/{main['id']}/reveal",
        json={"field": "id_number", "purpose": "核对"},
        headers=ADMIN,
    )
    for _ in range(5):
        await stack.members_http.post(
            "/auth/login", json={"staff_no": "U0001", "password": "wrong-pass-1"}
        )

    everything = await audit(stack, member=main["id"])
    assert [(r["source"], r["action"]) for r in everything["items"]] == [
        ("audit", "lock"),
        ("audit", "reveal"),
        ("audit", "set_password"),
        ("members", "update"),
        ("members", "join"),
    ]
    assert everything["total"] == 5
    lock, reveal, password, update, joined = everything["items"]
    assert lock["by"] == "system" and lock["detail"]["failures"] == 5
    assert reveal["by"] == "admin-1" and reveal["detail"] == {
        "field": "id_number",
        "purpose": "核对",
    }
    assert password["by"] == "cadre-1" and password["request"]  # the trace id of the request
    assert update["changed"] == {"position": {"from": None, "to": "教研组长"}}
    assert joined["events"] == ["members.member.joined.v2", "members.member.joined.v1"]
    assert joined["at"].endswith("+08:00")

    # Filters: actor, action, source, day range, paging.
    assert [r["action"] for r in (await audit(stack, actor="admin-1"))["items"]] == ["reveal"]
    assert (await audit(stack, action="join"))["total"] == 1  # east's join is not in scope
    assert (await audit(stack, source="members", member=main["id"]))["total"] == 2
    today = local_today().isoformat()
    assert (await audit(stack, since=today, until=today, member=main["id"]))["total"] == 5
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert (await audit(stack, since=tomorrow))["items"] == []
    page = await audit(stack, member=main["id"], limit=2, offset=2)
    assert [r["action"] for r in page["items"]] == ["set_password", "update"]
    assert page["total"] == 5

    # Scope: a main auditor sees nothing of east; an admin of every campus sees both.
    assert (await audit(stack, member=east["id"]))["total"] == 0
    forbidden = await stack.members_http.get("/audit", params={"campus": "east"}, headers=AUDITOR)
    assert forbidden.status_code == 403
    assert (await audit(stack, headers=ADMIN, action="join"))["total"] == 2
    campuses = await audit(stack, headers=ADMIN, source="campuses")
    assert {r["target"] for r in campuses["items"]} == {"main", "east", "west", "north"}

    # Never editable: the path has no write method, and a cadre cannot read it.
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = await stack.members_http.request(method, "/audit", headers=ADMIN)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    assert (await stack.members_http.get("/audit", headers=cadre)).status_code == 403

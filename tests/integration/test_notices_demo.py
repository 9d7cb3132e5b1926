"""The notify demo seeders against notify in-process: three notices, the mandatory one read
by two thirds of main's members; three members' notification settings; seeding twice adds
nothing."""

from __future__ import annotations

import httpx
import pytest

from deploy.local.demo import notices, preferences
from deploy.local.demo.events import demo_signers
from services.members.membership.domain import member_id_for
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration.conftest import bearer, build_stack, close_stack

pytestmark = pytest.mark.integration


async def test_the_demo_notices_are_posted_once_and_the_mandatory_one_partly_read(infra):
    stack = await build_stack(infra, ["notify"], settings={"notify": {"announcement_poll_s": 0.1}})
    try:
        signers = demo_signers()
        people = [(member_id_for(s), c, "艺术系") for s, c in signers] + [
            ("m-demo-north", "north", "音乐系")
        ]
        await stack.notify.db[MEMBER_DIRECTORY].insert_many(
            [
                {
                    "_id": mid,
                    "name": f"会员{i}",
                    "campus": campus,
                    "department": dept,
                    "status": "active",
                    "roles": [],
                    "sequence": "0000000001.000",
                }
                for i, (mid, campus, dept) in enumerate(people)
            ]
        )
        transport = httpx.ASGITransport(app=stack.notify.app)
        url = "http://notify"
        assert await notices.seed(url, wait_s=20, transport=transport) == (3, 0)
        assert await notices.seed(url, wait_s=20, transport=transport) == (0, 3)

        admin = bearer("admin-1", ["admin"], ["*"])
        listed = (await stack.notify_http.get("/announcements", headers=admin)).json()
        assert len(listed) == 3
        [mandatory] = [a for a in listed if a["mandatory"]]
        shown = (
            await stack.notify_http.get(f"/announcements/{mandatory['id']}", headers=admin)
        ).json()
        assert shown["delivered"] == len(signers)
        assert shown["read"] == len(signers) * 2 // 3
        unread = await stack.notify_http.get(
            f"/announcements/{mandatory['id']}/unread", headers=admin
        )
        assert len(unread.json()) == len(signers) - len(signers) * 2 // 3
    finally:
        await close_stack(stack)


async def test_the_demo_settings_are_saved_once_and_never_over_a_members_own(infra):
    stack = await build_stack(infra, ["notify"])
    try:
        transport = httpx.ASGITransport(app=stack.notify.app)
        url = "http://notify"
        own = bearer(member_id_for("T2021"), ["member"], ["main"])
        mine = {"channels": {"welfare": ["inbox"]}, "quiet_hours": {"enabled": False}}
        put = await stack.notify_http.put("/me/notification-settings", json=mine, headers=own)
        assert put.status_code == 200, put.text

        assert await preferences.seed(url, transport=transport) == (2, 1)
        assert await preferences.seed(url, transport=transport) == (0, 3)

        teacher = bearer(member_id_for("T2020"), ["member"], ["main"])
        shown = (await stack.notify_http.get("/me/notification-settings", headers=teacher)).json()
        assert shown["channels"]["activity"] == ["inbox", "wecom"]
        assert shown["quiet_hours"] == {"enabled": True, "start": "21:30", "end": "07:30"}
        kept = (await stack.notify_http.get("/me/notification-settings", headers=own)).json()
        assert kept["channels"] == {"welfare": ["inbox"]}  # the member's own choice stays
        assert kept["quiet_hours"]["enabled"] is False
    finally:
        await close_stack(stack)

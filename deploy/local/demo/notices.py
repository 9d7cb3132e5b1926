"""通知公告 for the demo: three notices posted by a cadre over notify's API, one mandatory
and read by about two thirds of main's members (their own PATCH /inbox/…/read, as opening it
on the phone does), so the desk shows a partly read chart and an unread list.

Posted once: a notice whose title is already on the desk is not posted again (notices have
no natural key), and its reads are left as they are.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token

MANDATORY = "关于做好年度会员信息核对的通知"
NOTICES: list[dict[str, Any]] = [
    {
        "campus": "main",
        "title": "关于开展冬季健步走活动的通知",
        "body": "各分工会：\n\n为丰富教职工业余生活，校工会定于本月下旬开展冬季健步走活动，"
        "请各教工小家组织会员积极参加，报名请在「活动」中进行。",
        "mandatory": False,
    },
    {
        "campus": "main",
        "title": MANDATORY,
        "body": "全体会员：\n\n请于本月底前在「我的」中核对本人的部门、手机号和电子邮箱，"
        "信息有误请联系所在教工小家组长。此通知须全员阅读。",
        "mandatory": True,
    },
    {
        "campus": "north",
        "title": "北校区音乐系教工小家活动室开放时间调整",
        "body": "即日起，活动室开放时间调整为工作日 16:30–20:30。",
        "departments": ["音乐系"],
        "mandatory": False,
    },
]


async def _known(http: httpx.AsyncClient, notice: dict[str, Any], wait_s: float) -> None:
    """Wait until notify has learnt the campus's members (members.member over Kafka)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        seen = await http.post("/announcement-previews", json=notice)
        check(seen, f"preview {notice['title']}")
        if seen.json()["recipients"] > 0 or asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.5)


async def _sent(http: httpx.AsyncClient, announcement_id: str, wait_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        got = await http.get(f"/announcements/{announcement_id}")
        check(got, f"GET /announcements/{announcement_id}")
        if got.json()["state"] != "sending":
            return
        if asyncio.get_running_loop().time() > deadline:
            raise SeedError(f"notice {announcement_id} still sending after {wait_s:.0f} s")
        await asyncio.sleep(0.5)


async def _read_by_most(http: httpx.AsyncClient, announcement_id: str) -> None:
    """About two thirds of main's members open it; the others are the unread list."""
    from deploy.local.demo.events import demo_signers
    from services.members.membership.domain import member_id_for

    signers = demo_signers()
    for staff_no, campus in signers[: len(signers) * 2 // 3]:
        member = member_id_for(staff_no)
        token = {"Authorization": f"Bearer {member_token(member, campus)}"}
        read = await http.patch(f"/inbox/{announcement_id}:{member}/read", headers=token)
        if read.status_code not in (200, 404):  # 404: not reached (not active)
            raise SeedError(f"read {announcement_id} as {staff_no} → {read.status_code}")


async def seed(
    notify_url: str,
    timeout_s: float = 15,
    wait_s: float = 60,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """(notices added, already there); raises SeedError on any other answer; `transport` for
    a test that runs notify in-process."""
    headers = {"Authorization": f"Bearer {admin_token()}"}
    async with httpx.AsyncClient(
        base_url=notify_url, headers=headers, timeout=timeout_s, transport=transport
    ) as http:
        listed = await http.get("/announcements", params={"limit": 200})
        check(listed, "GET /announcements")
        there = {a["title"] for a in listed.json()}
        added = existing = 0
        for notice in NOTICES:
            if notice["title"] in there:
                existing += 1
                continue
            await _known(http, notice, wait_s)
            made = await http.post("/announcements", json=notice)
            check(made, f"POST /announcements {notice['title']}")
            added += 1
            if notice["mandatory"]:
                await _sent(http, made.json()["id"], wait_s)
                await _read_by_most(http, made.json()["id"])
        return added, existing

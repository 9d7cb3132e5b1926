"""Demo festival plans (funds-plans): the example policy profile is in force (it is data the
welfare service loads), a 中秋 plan of main already handed out, and a 端午 plan of every
campus in its choice phase — so 我的福利 has a gift to choose and one to confirm.

Seeded after members (welfare learns the members from their events) and after the funds
demo data (the budget the 中秋 gifts are paid from; when there is none yet, a small one for
the festival line is adopted here). Seeding twice changes nothing: a plan of the same title,
festival and year is left as it is.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token
from deploy.local.demo.members import demo_members

WALKTHROUGH = "T2020"  # 张颖 of the README: her 端午 gift is left for her to choose


def _plan(
    title: str,
    festival: str,
    year: int,
    campuses: list[str],
    deadline: datetime,
    options: list[dict],
    standard: int,
) -> dict:
    from shared.timeutil import local_today

    today = local_today()
    return {
        "title": title,
        "festival": festival,
        "year": year,
        "campuses": campuses,
        "standard_fen": standard,
        "options": options,
        "reference_date": today.isoformat() if today.year == year else f"{year}-01-01",
        "deadline": deadline.isoformat(),
        "default_option": options[0]["code"],
    }


async def _wait_for_directory(
    client: httpx.AsyncClient, headers: dict, member_id: str, year: int, timeout_s: float
) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + timeout_s
    while loop.time() < until:
        if (
            await client.get(f"/welfare/caps/{member_id}/{year}", headers=headers)
        ).status_code == 200:
            return
        await asyncio.sleep(0.5)
    raise SeedError("welfare 尚未收到会员数据 / welfare has not learnt the members yet")


async def _existing(client: httpx.AsyncClient, headers: dict, year: int) -> dict[str, dict]:
    answer = await client.get("/welfare/plans", params={"year": year}, headers=headers)
    check(answer, "GET /welfare/plans")
    return {f"{p['festival']}:{p['title']}": p for p in answer.json()["items"]}


async def _made(client: httpx.AsyncClient, headers: dict, body: dict) -> str:
    answer = await client.post("/welfare/plans", json=body, headers=headers)
    check(answer, f"POST /welfare/plans {body['title']}")
    plan_id = answer.json()["id"]
    for step in ("approval", "publication"):
        check(await client.post(f"/welfare/plans/{plan_id}/{step}", headers=headers), step)
    return plan_id


async def seed(welfare_url: str, timeout_s: float = 30) -> tuple[int, int]:
    """Returns (plans added, already there); raises SeedError on any other answer."""
    from services.members.membership.domain import member_id_for
    from shared.timeutil import SHANGHAI, local_today

    headers = {"Authorization": f"Bearer {admin_token()}"}
    today = local_today()
    year = today.year
    people = [p for p in demo_members() if not p.body.get("as_applicant") and not p.then]
    async with httpx.AsyncClient(base_url=welfare_url, timeout=timeout_s) as client:
        await _wait_for_directory(
            client, headers, member_id_for(people[0].body["staff_no"]), year, 60
        )
        existing = await _existing(client, headers, year)
        added = 0
        # 中秋: main's members chose (most of them), the gifts are handed out, some signed.
        if "mid_autumn:中秋节福利" not in existing:
            budget = await client.get(f"/funds/budgets/main/{year}", headers=headers)
            if budget.status_code == 200 and not budget.json()["adopted"]:
                lines = {"spend_activity_festival": 6_000_000}
                body = {"lines": lines, "note": "演示预算（福利发放）"}
                check(
                    await client.post(f"/funds/budgets/main/{year}", json=body, headers=headers),
                    "budget",
                )
            end = datetime.combine(today + timedelta(days=3), time(18), SHANGHAI)
            options = [
                {
                    "code": "mooncake",
                    "name": "广式月饼礼盒",
                    "price_fen": 30_000,
                    "form": "food",
                    "picture": "🥮",
                },
                {
                    "code": "fruit",
                    "name": "时令水果礼篮",
                    "price_fen": 28_000,
                    "form": "food",
                    "picture": "🍎",
                },
            ]
            plan_id = await _made(
                client,
                headers,
                _plan("中秋节福利", "mid_autumn", year, ["main"], end, options, 30_000),
            )
            main = [p for p in people if p.body["campus"] == "main"]
            for i, person in enumerate(main):
                member_id = member_id_for(person.body["staff_no"])
                mine = {"Authorization": f"Bearer {member_token(member_id, 'main')}"}
                url = f"/welfare/entitlements/{plan_id}:{member_id}/choice"
                answer = await client.post(
                    url, json={"option": options[i % 2]["code"]}, headers=mine
                )
                if answer.status_code not in (200, 404):
                    check(answer, url)
            await asyncio.sleep(2)  # the choices reach the list the issue desk reads
            departments = sorted({p.body["department"] for p in main})
            for department in departments:
                body = {"campus": "main", "department": department}
                check(
                    await client.post(
                        f"/welfare/plans/{plan_id}/issues", json=body, headers=headers
                    ),
                    f"issue {department}",
                )
            for person in main[::2]:
                if person.body["staff_no"] == WALKTHROUGH:
                    continue
                member_id = member_id_for(person.body["staff_no"])
                mine = {"Authorization": f"Bearer {member_token(member_id, 'main')}"}
                url = f"/welfare/entitlements/{plan_id}:{member_id}/receipt"
                answer = await client.post(url, headers=mine)
                if answer.status_code not in (200, 404, 409):
                    check(answer, url)
            added += 1
        # 端午: every campus, in its choice phase; a third have chosen.
        if "dragon_boat:端午节福利" not in existing:
            end = datetime.combine(today + timedelta(days=14), time(18), SHANGHAI)
            options = [
                {
                    "code": "zongzi",
                    "name": "嘉兴粽子礼盒",
                    "price_fen": 20_000,
                    "form": "food",
                    "picture": "🍙",
                },
                {
                    "code": "tea",
                    "name": "碧螺春茶叶",
                    "price_fen": 19_800,
                    "form": "goods",
                    "picture": "🍵",
                },
            ]
            campuses = sorted({p.body["campus"] for p in people})
            plan_id = await _made(
                client,
                headers,
                _plan("端午节福利", "dragon_boat", year, campuses, end, options, 20_000),
            )
            for person in people[::3]:
                if person.body["staff_no"] == WALKTHROUGH:
                    continue
                member_id = member_id_for(person.body["staff_no"])
                campus = person.body["campus"]
                mine = {"Authorization": f"Bearer {member_token(member_id, campus)}"}
                url = f"/welfare/entitlements/{plan_id}:{member_id}/choice"
                answer = await client.post(url, json={"option": "tea"}, headers=mine)
                if answer.status_code not in (200, 404):
                    check(answer, url)
            added += 1
    return added, 2 - added

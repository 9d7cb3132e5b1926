"""Demo data of the annual physical exam and mutual aid (welfare): this year's exam plan of the
main campus with its slots and some bookings, both mutual-aid schemes with some enrolments and
one claim on its way to the insurer.

Written over welfare's API as the people concerned would: the plan and schemes by a cadre
(admin token), bookings and enrolments by the members themselves (member tokens). Seeding
twice changes nothing: a booking or an enrolment asked again is the one there, and the claim
is made only when the scheme has none. It needs the members seeded (welfare learns them from
Kafka, so it waits until welfare's directory knows them) and, for the premiums, a budget of
main for the year: it adds 互助保障 money to the budget the funds demo adopted (one amendment,
once), or adopts a budget itself when there is none yet.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token
from deploy.local.demo.members import demo_members

CAMPUS = "main"
LINE = "spend_rights_other"  # 其他维权支出
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(birth: str, serial: int) -> str:
    """A valid-looking ID number (GB 11643 check digit) for a demo person."""
    body = f"320102{birth.replace('-', '')}{serial % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def exam_plan(year: int, today: date) -> dict:
    last = date(year, 12, 31)
    days = [min(today + timedelta(days=n), last) for n in (3, 4, 7, 8, 10, 11)]
    slots = [
        {
            "code": f"d{i + 1}{'am' if i % 2 == 0 else 'pm'}",
            "provider": "rmyy" if i < 4 else "zxyy",
            "day": day.isoformat(),
            "period": "上午 7:30-10:00" if i % 2 == 0 else "下午 13:30-15:30",
            "capacity": 10,
        }
        for i, day in enumerate(days)
    ]
    return {
        "title": f"{year}年度教职工健康体检",
        "union_pays": False,  # 体检费由学校行政支付（常见做法）
        "retirees": True,
        "providers": [
            {"code": "rmyy", "name": "市第一人民医院体检中心"},
            {"code": "zxyy", "name": "市中心医院健康管理中心"},
        ],
        "packages": [
            {"code": "basic", "name": "基础套餐", "price_fen": 45_000},
            {
                "code": "female",
                "name": "女职工套餐（含乳腺、妇科）",
                "price_fen": 62_000,
                "gender": "female",
            },
            {
                "code": "over50",
                "name": "50岁以上套餐（含心脑血管）",
                "price_fen": 80_000,
                "min_age": 50,
            },
        ],
        "slots": slots,
    }


def schemes(year: int, today: date) -> dict[str, dict]:
    until = min(today + timedelta(days=30), date(year, 12, 31)).isoformat()
    return {
        "major": {
            "name": "职工大病互助保障",
            "kind": "major_illness",
            "insurer": "市职工保险互助会",
            "premium_fen": 5_000,
            "enrol_until": until,
        },
        "women": {
            "name": "女职工特殊疾病互助保障",
            "kind": "women",
            "insurer": "市职工保险互助会",
            "premium_fen": 3_000,
            "enrol_until": until,
        },
    }


async def ensure_budget(client: httpx.AsyncClient, headers: dict, year: int) -> None:
    """Money for the premiums on 其他维权支出 of main."""
    budget = await client.get(f"/funds/budgets/{CAMPUS}/{year}", headers=headers)
    if budget.status_code == 200 and budget.json().get("adopted"):
        amendment = {
            "line": LINE,
            "change_fen": 200_000,
            "reason": "互助保障保费（演示数据）",
            "idempotency_key": f"demo-mutual-aid-{year}",
        }
        response = await client.post(
            f"/funds/budgets/{CAMPUS}/{year}/amendments", json=amendment, headers=headers
        )
        check(response, "budget amendment for mutual aid")
        return
    lines = {
        "spend_activity_festival": 6_000_000,
        "spend_activity_birthday": 2_000_000,
        "spend_activity_other": 2_000_000,  # condolence cases (care.py), as the funds demo
        "spend_activity_culture_sports": 3_000_000,
        "spend_rights_hardship": 1_000_000,
        "spend_rights_warmth": 1_000_000,
        LINE: 1_000_000,
    }
    response = await client.post(
        f"/funds/budgets/{CAMPUS}/{year}",
        json={"lines": lines, "note": f"{year}年度工会经费预算（演示数据）"},
        headers=headers,
    )
    check(response, "budget")


async def wait_for_directory(client: httpx.AsyncClient, year: int, member_id: str) -> None:
    """Welfare learns members from Kafka: wait (up to a minute) until it knows this one."""
    headers = {"Authorization": f"Bearer {member_token(member_id, CAMPUS)}"}
    for _ in range(120):
        response = await client.get(f"/exams/plans/{CAMPUS}/{year}/mine", headers=headers)
        if response.status_code == 200:
            return
        await asyncio.sleep(0.5)
    raise SeedError("welfare does not know the demo members yet (members.member on Kafka)")


async def seed(welfare_url: str, timeout_s: float = 20) -> tuple[int, int]:
    """Returns (bookings and enrolments made, already there); raises SeedError otherwise."""
    from services.members.membership.domain import member_id_for
    from shared.timeutil import local_today

    today = local_today()
    year = today.year
    admin = {"Authorization": f"Bearer {admin_token()}"}
    # Members still in post (no lifecycle steps: nobody who has withdrawn).
    people = [m.body for m in demo_members() if m.body["campus"] == CAMPUS and not m.then]
    added = existing = 0
    async with httpx.AsyncClient(base_url=welfare_url, timeout=timeout_s) as client:
        response = await client.put(
            f"/exams/plans/{CAMPUS}/{year}", json=exam_plan(year, today), headers=admin
        )
        check(response, "exam plan")
        for code, body in schemes(year, today).items():
            response = await client.put(
                f"/mutual-aid/schemes/{CAMPUS}/{year}/{code}", json=body, headers=admin
            )
            check(response, f"mutual-aid scheme {code}")
        await ensure_budget(client, admin, year)
        await wait_for_directory(client, year, member_id_for(people[0]["staff_no"]))

        plan = exam_plan(year, today)
        for i, person in enumerate(people[:24]):
            member_id = member_id_for(person["staff_no"])
            as_member = {"Authorization": f"Bearer {member_token(member_id, CAMPUS)}"}
            born = int(person["birth_date"][:4])
            package = (
                "over50"
                if year - born >= 50
                else "female"
                if person["gender"] == "female"
                else "basic"
            )
            booking = {"slot": plan["slots"][i % 5]["code"], "package": package}
            base = f"/exams/plans/{CAMPUS}/{year}/bookings"
            had = await client.get(f"{base}/{member_id}", headers=as_member)
            if had.status_code == 200:
                existing += 1  # booked (or cancelled by the person) before: left as it is
            else:
                response = await client.post(base, json=booking, headers=as_member)
                check(response, f"exam booking of {person['staff_no']}")
                added += 1

            enrol_in = ["major"] + (["women"] if person["gender"] == "female" else [])
            if i >= 16:
                continue  # the others have not enrolled yet
            for code in enrol_in:
                body = {"id_number": id_number(person["birth_date"], i + 1)}
                response = await client.post(
                    f"/mutual-aid/schemes/{CAMPUS}/{year}/{code}/enrolments",
                    json=body,
                    headers=as_member,
                )
                if response.status_code not in (200, 201):  # a premium refused is a failure
                    raise SeedError(f"enrolment → {response.status_code}: {response.text[:300]}")
                if response.status_code == 201:
                    added += 1
                else:
                    existing += 1

        claims_url = f"/mutual-aid/schemes/{CAMPUS}/{year}/major/claims"
        claims = await client.get(claims_url, headers=admin)
        check(claims, "claims")
        if claims.status_code == 200 and not claims.json():
            claimant = member_id_for(people[1]["staff_no"])
            as_member = {"Authorization": f"Bearer {member_token(claimant, CAMPUS)}"}
            response = await client.post(
                claims_url,
                json={"claimed_fen": 3_000_000, "occurred_on": today.isoformat()},
                headers=as_member,
            )
            check(response, "claim")
            if response.status_code == 201:
                moved = await client.post(
                    f"/mutual-aid/claims/{response.json()['id']}/status",
                    json={"status": "with_insurer"},
                    headers=admin,
                )
                check(moved, "claim to the insurer")
    return added, existing

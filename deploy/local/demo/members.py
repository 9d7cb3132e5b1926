"""members' demo data: the union's people, their children, this month's dues, passwords.

Two campuses with their departments and small groups (教工小家), about sixty members — the
union's cadres, a finance officer and an auditor, group leaders, retirees, a few applicants
waiting for approval and one who left — all written over the public HTTP API with an admin
token, as a cadre would. The people are generated from a fixed seed, so every run asks for the
same ones: an answer of 409 means "already there" (a campus definition is simply the same
again), so seeding twice changes nothing.

Then the April childcare survey (入园入托统计): some members have children, each campus has a
round for 15 April of this year, and most parents have answered (as themselves, with member
tokens). And dues (会费): this month's bills, two thirds of them paid (one payment each, under a
fixed idempotency key). Stating the same children, answering again, generating the month again
and paying under the same key all change nothing. Last, the initial password of everyone who
can sign in (`seed_passwords`), never resetting one a person chose.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token

DEMO_CAMPUSES: dict[str, dict] = {
    "main": {
        "name": "主校区",
        "departments": ["学前教育系", "艺术系", "外语系", "信息技术系", "体育部", "行政办公室"],
        "small_groups": [
            {"code": "g-main-edu", "name": "学前教育教工小家"},
            {"code": "g-main-art", "name": "艺体教工小家"},
            {"code": "g-main-admin", "name": "机关教工小家"},
        ],
    },
    "north": {
        "name": "北校区",
        "departments": ["音乐系", "图书馆", "后勤处"],
        "small_groups": [
            {"code": "g-north-music", "name": "音乐教工小家"},
            {"code": "g-north-service", "name": "服务保障教工小家"},
        ],
    },
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
GIVEN = (
    "芳 静 伟 敏 丽 强 磊 洋 艳 勇 军 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建华 文 华 红 玲 "
    "晓燕 春梅 海燕 婷 雪 慧 颖 佳 欣 宇 浩 晨 琳 倩 丹 亮 鹏 斌 萍 燕 莉"
).split()
GROUPS = {
    "main": [g["code"] for g in DEMO_CAMPUSES["main"]["small_groups"]],
    "north": [g["code"] for g in DEMO_CAMPUSES["north"]["small_groups"]],
}


@dataclass
class DemoMember:
    body: dict
    then: list[tuple[str, dict | None]] = field(default_factory=list)  # lifecycle steps


def demo_members() -> list[DemoMember]:
    """The same sixty-odd people every time (fixed seed)."""
    rnd = random.Random(2023)
    people: list[DemoMember] = []
    used: set[str] = set()

    def person(
        campus: str, department: str, *, roles: list[str] | None = None, born: int | None = None
    ) -> DemoMember:
        while True:
            name = rnd.choice(SURNAMES) + rnd.choice(GIVEN)
            if name not in used:
                used.add(name)
                break
        n = len(people) + 1
        year = born or rnd.randint(1966, 1999)
        body = {
            "staff_no": f"T{2000 + n:04d}",
            "name": name,
            "campus": campus,
            "department": department,
            "gender": rnd.choice(["female", "female", "male"]),
            "birth_date": (date(year, 1, 1) + timedelta(days=rnd.randint(0, 364))).isoformat(),
            "position": rnd.choice(["教师", "教师", "教师", "辅导员", "教研组长", "职员"]),
            "employment_type": rnd.choice(["在编", "在编", "合同", "人事代理"]),
            "hire_date": date(max(year + 23, 1990), 9, 1).isoformat(),
            "phone": f"139{rnd.randint(10_000_000, 99_999_999)}",
            "email": f"t{2000 + n}@school.local",
            "small_group": rnd.choice(GROUPS[campus]),
            "roles": roles or [],
            "salary_base_fen": rnd.randint(550_000, 1_350_000),
        }
        member = DemoMember(body)
        people.append(member)
        return member

    main = DEMO_CAMPUSES["main"]["departments"]
    north = DEMO_CAMPUSES["north"]["departments"]
    # The union committee (工会委员会) and the people who keep its money.
    person("main", "行政办公室", roles=["chair"], born=1970)
    person("main", "学前教育系", roles=["vice_chair"], born=1975)
    person("north", "音乐系", roles=["vice_chair"], born=1978)
    person("main", "艺术系", roles=["committee"])
    person("main", "外语系", roles=["committee"])
    person("main", "行政办公室", roles=["finance"])
    person("main", "信息技术系", roles=["auditor"])
    for code in GROUPS["main"]:
        leader = person("main", rnd.choice(main), roles=["group_leader"])
        leader.body["small_group"] = code
    for code in GROUPS["north"]:
        leader = person("north", rnd.choice(north), roles=["group_leader"])
        leader.body["small_group"] = code
    for _ in range(34):
        person("main", rnd.choice(main))
    for _ in range(10):
        person("north", rnd.choice(north))
    # Retirees (退休会员) stay members; applicants wait for a cadre; one colleague left.
    for campus, department in [
        ("main", "体育部"),
        ("main", "学前教育系"),
        ("north", "图书馆"),
        ("north", "后勤处"),
    ]:
        person(campus, department, born=1962).then.append(("retire", {"on": "2023-07-31"}))
    for campus, department in [("main", "信息技术系"), ("main", "艺术系"), ("north", "音乐系")]:
        applicant = person(campus, department, born=2000)
        applicant.body["as_applicant"] = True
    person("main", "外语系").then.append(("withdraw", {"on": "2024-06-30"}))
    return people


INSTITUTIONS = {
    "daycare": ["小太阳托育中心", "学校附属幼儿园托班"],
    "kindergarten": ["学校附属幼儿园", "实验幼儿园", "阳光幼儿园"],
    "primary": ["实验小学", "第一中心小学"],
}
CHILD_NAMES = "子涵 梓萱 一诺 欣怡 浩宇 子墨 雨桐 宇轩 诗涵 梓睿 可馨 俊熙 思源 若汐".split()


def demo_children(people: list[DemoMember], survey: date) -> dict[str, list[dict]]:
    """Children of about a third of the active members born 1980–1995 (fixed seed)."""
    rnd = random.Random(415)
    found: dict[str, list[dict]] = {}
    for person in people:
        body = person.body
        born = int(body["birth_date"][:4])
        if body.get("as_applicant") or person.then or not 1980 <= born <= 1995:
            continue
        if rnd.random() > 0.6:
            continue
        kids = []
        for _ in range(rnd.choice([1, 1, 2])):
            day = date(rnd.randint(max(born + 24, 2011), 2025), 1, 1) + timedelta(
                days=rnd.randint(0, 364)
            )
            age = survey.year - day.year - ((survey.month, survey.day) < (day.month, day.day))
            status = (
                rnd.choice(["none", "daycare"])
                if age < 3
                else "kindergarten"
                if age < 6
                else "primary"
                if age < 12
                else "none"
            )
            kids.append(
                {
                    "name": body["name"][0] + rnd.choice(CHILD_NAMES),
                    "birth_date": day.isoformat(),
                    "care_status": status,
                    "institution": rnd.choice(INSTITUTIONS[status]) if status != "none" else None,
                }
            )
        found[body["staff_no"]] = kids
    return found


async def _wait_listed(client: httpx.AsyncClient, headers: dict, active: int) -> None:
    """The list view follows the members' events; bills are generated from it."""
    for _ in range(150):
        page = await client.get(
            "/members", params={"status": "active", "limit": 1}, headers=headers
        )
        if page.status_code == 200 and page.json()["total"] >= active:
            return
        await asyncio.sleep(0.2)


async def seed_childcare_and_dues(
    client: httpx.AsyncClient, headers: dict, people: list[DemoMember]
) -> None:
    from services.members.membership.domain import member_id_for
    from shared.timeutil import local_today

    today = local_today()
    survey = date(today.year, 4, 15)
    children = demo_children(people, survey)
    for staff_no, kids in children.items():
        member_id = member_id_for(staff_no)
        response = await client.put(
            f"/members/{member_id}/children", json={"children": kids}, headers=headers
        )
        check(response, f"PUT /members/{staff_no}/children")
    for campus in DEMO_CAMPUSES:
        body = {
            "campus": campus,
            "survey_date": survey.isoformat(),
            "deadline": f"{today.year}-04-30",
        }
        check(
            await client.post("/childcare/rounds", json=body, headers=headers),
            f"POST /childcare/rounds {campus}",
        )
    rnd = random.Random(430)
    for person in people:
        body = person.body
        if body.get("as_applicant") or person.then or rnd.random() > 0.75:
            continue  # applicants and leavers are not asked; a quarter have not answered yet
        member_id = member_id_for(body["staff_no"])
        round_id = f"cc-{body['campus']}-{survey:%Y%m%d}"
        mine = {"Authorization": f"Bearer {member_token(member_id, body['campus'])}"}
        check(
            await client.put(f"/childcare/rounds/{round_id}/answer", json={}, headers=mine),
            f"answer {body['staff_no']}",
        )
    active = sum(1 for p in people if not p.body.get("as_applicant") and not p.then)
    await _wait_listed(client, headers, active)
    month = f"{today:%Y-%m}"
    response = await client.post("/dues/bills/generate", json={"month": month}, headers=headers)
    check(response, f"generate the bills of {month}")
    bills = await client.get("/dues/bills", params={"month": month, "limit": 500}, headers=headers)
    check(bills, "GET /dues/bills")
    demo = {p.body["staff_no"] for p in people}
    for bill in bills.json()["items"]:
        if bill["staff_no"] not in demo or int(bill["staff_no"][1:]) % 3 == 2:
            continue  # a third still owe this month
        payment = {
            "member_id": bill["member_id"],
            "month": month,
            "amount_fen": bill["due_fen"],
            "method": "payroll",
            "idempotency_key": f"demo-{month}-{bill['staff_no']}",
        }
        check(
            await client.post("/dues/payments", json=payment, headers=headers),
            f"pay {bill['staff_no']}",
        )


async def seed(members_url: str, timeout_s: float = 15) -> tuple[int, int]:
    """Returns (members added, already there); raises SeedError on any other answer."""
    headers = {"Authorization": f"Bearer {admin_token()}"}
    added = existing = 0
    async with httpx.AsyncClient(base_url=members_url, timeout=timeout_s) as client:
        for code, campus in DEMO_CAMPUSES.items():
            response = await client.put(f"/campuses/{code}", json=campus, headers=headers)
            if response.status_code != 200:
                raise SeedError(f"PUT /campuses/{code} → {response.status_code}: {response.text}")
        for member in demo_members():
            response = await client.post("/members", json=member.body, headers=headers)
            if response.status_code == 201:
                added += 1
                member_id = response.json()["id"]
                for action, body in member.then:
                    step = await client.post(
                        f"/members/{member_id}/{action}", json=body, headers=headers
                    )
                    if step.status_code not in (200, 409):
                        raise SeedError(f"{action} {member.body['staff_no']}: {step.text[:300]}")
            elif response.status_code == 409:
                existing += 1
            else:
                raise SeedError(
                    f"POST /members {member.body['staff_no']} → {response.status_code}: "
                    f"{response.text[:500]}"
                )
        await seed_childcare_and_dues(client, headers, demo_members())
    return added, existing


DEMO_PASSWORD = "Gonghui-2026"


async def seed_passwords(members_url: str, timeout_s: float = 30) -> int:
    """Give every demo member who can sign in and has no password yet the initial password
    DEMO_PASSWORD (the web front end asks for their own at the first sign-in). A password a
    person already chose is left alone, so a restart does not reset it. Returns how many."""
    from services.members.membership.domain import member_id_for

    headers = {"Authorization": f"Bearer {admin_token()}"}
    done = 0
    async with httpx.AsyncClient(base_url=members_url, timeout=timeout_s) as client:
        for member in demo_members():
            if member.body.get("as_applicant") or any(a == "withdraw" for a, _ in member.then):
                continue  # applicants and leavers do not sign in (retirees do)
            member_id = member_id_for(member.body["staff_no"])
            account = await client.get(f"/members/{member_id}/account", headers=headers)
            check(account, f"GET /members/{member_id}/account")
            if account.json()["has_password"]:
                continue
            response = await client.put(
                f"/members/{member_id}/password", json={"password": DEMO_PASSWORD}, headers=headers
            )
            check(response, f"PUT /members/{member_id}/password")
            done += 1
    return done

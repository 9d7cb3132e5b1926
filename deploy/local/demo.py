"""Demo data so a fresh `make run` has a living union to look at.

    python -m deploy.local.demo --members-url http://127.0.0.1:8001 --events-url http://127.0.0.1:8002

Two campuses with their departments and small groups (教工小家), about sixty members — the
union's cadres, a finance officer and an auditor, group leaders, retirees, a few applicants
waiting for approval and one who left — all written over the public HTTP API with an admin
token (the dev key, or GONGHUI_AUTH_PRIVATE_KEY_FILE), as a cadre would. The people are
generated from a fixed seed, so every run asks for the same ones: an answer of 409 means "already
there" (a campus definition is simply the same again), so seeding twice changes nothing.

Then the April childcare survey (入园入托统计): some members have children, each campus has a
round for 15 April of this year, and most parents have answered (as themselves, with member
tokens). And dues (会费): this month's bills, two thirds of them paid (one payment each, under a
fixed idempotency key). Stating the same children, answering again, generating the month again
and paying under the same key all change nothing.
Then the activities of the coming months (events): a spring outing members join with family,
the Teachers' Day celebration for the whole school, a blood-donation drive, a lecture that
is full with a waitlist, and the staff sports meet with its items and some members' entries.
Each has a reference (`ref`) that makes its id, so drafting it again answers 409; sign-ups and
entries are idempotent. Members sign up with their own tokens once events has learnt them
from `members.member`. And the annual plan: the 2023 table of the source work plan, copied
year by year into this year's (its past months done but one, which shows as overdue) and the
next, its items linked to the demo activities that carry them out; loading and copying again
change nothing (derived ids).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

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


class SeedError(RuntimeError):
    pass


def admin_token() -> str:
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    return mint_token("demo-seeder", ["admin"], ["*"], private_key_file=key)


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


def member_token(member_id: str, campus: str) -> str:
    from shared.auth import mint_token
    from shared.settings import DEV_PRIVATE_KEY

    key = Path(os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE") or DEV_PRIVATE_KEY)
    return mint_token(member_id, ["member"], [campus], private_key_file=key)


def _check(response: httpx.Response, what: str) -> None:
    """2xx, or 409: the data is already so, or people have moved on (a round closed, a bill
    paid by hand) — the demo never overrides what was done."""
    if response.status_code not in (200, 201, 409):
        raise SeedError(f"{what} → {response.status_code}: {response.text[:300]}")


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
        _check(response, f"PUT /members/{staff_no}/children")
    for campus in DEMO_CAMPUSES:
        body = {
            "campus": campus,
            "survey_date": survey.isoformat(),
            "deadline": f"{today.year}-04-30",
        }
        _check(
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
        _check(
            await client.put(f"/childcare/rounds/{round_id}/answer", json={}, headers=mine),
            f"answer {body['staff_no']}",
        )
    active = sum(1 for p in people if not p.body.get("as_applicant") and not p.then)
    await _wait_listed(client, headers, active)
    month = f"{today:%Y-%m}"
    response = await client.post("/dues/bills/generate", json={"month": month}, headers=headers)
    _check(response, f"generate the bills of {month}")
    bills = await client.get("/dues/bills", params={"month": month, "limit": 500}, headers=headers)
    _check(bills, "GET /dues/bills")
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
        _check(
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


# -- events: the activities of the coming months ---------------------------------------------


@dataclass
class DemoActivity:
    slug: str
    month: int
    day: int
    body: dict
    hours: tuple[str, str]
    sign_ups: list[tuple[int, int]] = field(default_factory=list)  # (member index, guests)
    plan_item: str | None = None  # the item of the year's plan it carries out (2023 ids)


DEMO_ACTIVITIES: tuple[DemoActivity, ...] = (
    DemoActivity(
        "spring-outing",
        4,
        18,
        {
            "kind": "outing",
            "title": "春季踏青：植物园健步行",
            "description": "教职工及家属春季踏青，统一乘车前往，午餐自理。",
            "campus": "main",
            "venue": "市植物园（东门集合）",
            "capacity": 60,
            "guests_max": 2,
            "eligibility": {"statuses": ["active", "retired"]},
        },
        ("08:30", "16:30"),
        [(0, 2), (1, 1), (2, 0), (3, 2), (4, 1), (5, 0)],
        plan_item="08",  # 踏青赏春活动
    ),
    DemoActivity(
        "teachers-day",
        9,
        10,
        {
            "kind": "celebration",
            "title": "庆祝教师节暨优秀教师表彰大会",
            "campus": "*",
            "venue": "主校区大礼堂",
            "eligibility": {"statuses": ["active", "retired"]},
        },
        ("14:30", "17:00"),
        [(i, 0) for i in range(12)],
        plan_item="12",  # 庆祝教师节系列活动
    ),
    DemoActivity(
        "blood-drive",
        6,
        14,
        {
            "kind": "blood_donation",
            "title": "世界献血者日无偿献血",
            "description": "献血车停靠主校区，献血后可获工会慰问。",
            "campus": "main",
            "venue": "主校区行政楼前广场",
            "capacity": 40,
            "eligibility": {"age_min": 18, "age_max": 60},
        },
        ("09:00", "12:00"),
        [(6, 0), (7, 0), (8, 0)],
        plan_item="04",  # 无偿献血
    ),
    DemoActivity(
        "wellbeing-lecture",
        3,
        15,
        {
            "kind": "lecture",
            "title": "教师心理健康讲座：压力与情绪管理",
            "campus": "main",
            "venue": "图书馆报告厅",
            "capacity": 8,
        },
        ("15:00", "16:30"),
        [(i, 0) for i in range(9, 20)],  # eleven for eight seats: three wait in line
    ),
    DemoActivity(
        "sports-meet",
        10,
        23,
        {
            "kind": "sports_meet",
            "title": "教职工趣味运动会",
            "description": "以部门为代表队，个人项目每人最多报两项；团体总分按名次积分。",
            "campus": "main",
            "venue": "主校区田径场",
            "eligibility": {"statuses": ["active", "retired"]},
        },
        ("08:30", "11:30"),
        plan_item="14",  # 教职工趣味运动会
    ),
)

# The sports meet's items and who enters what (member index → items).
DEMO_MEET = {
    "max_entries": 2,
    "points": [9, 7, 6, 5, 4, 3, 2, 1],
    "items": [
        {"name": "托球跑", "kind": "individual", "measure": "time"},
        {"name": "袋鼠跳", "kind": "individual", "measure": "time"},
        {"name": "定点投篮", "kind": "individual", "measure": "score"},
        {"name": "十人十一足", "kind": "relay", "measure": "time"},
    ],
}
DEMO_ENTRIES: dict[int, tuple[str, ...]] = {
    0: ("e1", "e4"),
    1: ("e1", "e3"),
    2: ("e2", "e4"),
    3: ("e2", "e3"),
    4: ("e1", "e2"),
    5: ("e3", "e4"),
    6: ("e1", "e4"),
    7: ("e4",),
}
# Items of the current year's plan a demo cadre has done (the months before this one), all
# but this one: an overdue item shows what the plan view flags.
DEMO_PLAN_LATE = "05"  # 妇女节系列活动


def next_date(month: int, day: int, today: date) -> date:
    """The next such day after today (the demo is always the coming months)."""
    this_year = date(today.year, month, day)
    return this_year if this_year > today else date(today.year + 1, month, day)


def demo_signers() -> list[tuple[str, str]]:
    """(staff number, campus) of the active main-campus demo members, in a fixed order."""
    return [
        (m.body["staff_no"], m.body["campus"])
        for m in demo_members()
        if m.body["campus"] == "main" and not m.body.get("as_applicant") and not m.then
    ]


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
            _check(account, f"GET /members/{member_id}/account")
            if account.json()["has_password"]:
                continue
            response = await client.put(
                f"/members/{member_id}/password", json={"password": DEMO_PASSWORD}, headers=headers
            )
            _check(response, f"PUT /members/{member_id}/password")
            done += 1
    return done


async def seed_events(
    events_url: str, today: date | None = None, timeout_s: float = 15, wait_s: float = 60
) -> tuple[int, int]:
    """Returns (activities added, already there); raises SeedError on any other answer.

    Members sign up as themselves; events learns them from `members.member`, so a sign-up
    answered 404 (not known yet) is tried again for up to `wait_s`. One the activity's rules
    refuse (the blood drive's age limit) is left out.
    """
    from services.members.membership.domain import member_id_for

    headers = {"Authorization": f"Bearer {admin_token()}"}
    today = today or date.today()
    signers = demo_signers()
    added = existing = 0
    activities: dict[str, tuple[str, int]] = {}  # slug → (activity id, year)
    async with httpx.AsyncClient(base_url=events_url, timeout=timeout_s) as client:
        for demo in DEMO_ACTIVITIES:
            day = next_date(demo.month, demo.day, today)
            starts, ends = (f"{day.isoformat()}T{t}:00+08:00" for t in demo.hours)
            body = {**demo.body, "starts_at": starts, "ends_at": ends}
            body["ref"] = f"demo-{day.year}-{demo.slug}"
            response = await client.post("/activities", json=body, headers=headers)
            if response.status_code == 201:
                added += 1
                activity_id = response.json()["id"]
                published = await client.post(f"/activities/{activity_id}/publish", headers=headers)
                if published.status_code != 200:
                    raise SeedError(f"publish {demo.slug}: {published.text[:300]}")
            elif response.status_code == 409:
                existing += 1
                activity_id = response.json()["id"]
            else:
                raise SeedError(f"POST /activities {demo.slug}: {response.text[:300]}")
            for index, guests in demo.sign_ups:
                staff_no, campus = signers[index]
                member_id = member_id_for(staff_no)
                token = {"Authorization": f"Bearer {member_token(member_id, campus)}"}
                url = f"/activities/{activity_id}/registrations"
                deadline = asyncio.get_running_loop().time() + wait_s
                while True:
                    signed = await client.post(url, json={"guests": guests}, headers=token)
                    if signed.status_code in (200, 201):
                        break
                    if signed.json().get("code") == "registration.ineligible":
                        break  # e.g. past the blood drive's age limit: the rule says no
                    late = asyncio.get_running_loop().time() > deadline
                    if signed.status_code != 404 or late:
                        raise SeedError(f"sign-up {staff_no} → {demo.slug}: {signed.text[:300]}")
                    await asyncio.sleep(0.5)  # events has not learnt this member yet
            if demo.slug == "sports-meet":
                await _seed_meet(client, headers, activity_id, signers, wait_s)
            activities[demo.slug] = (activity_id, day.year)
        await _seed_plans(client, headers, today, activities)
    return added, existing


async def _seed_meet(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    activity_id: str,
    signers: list[tuple[str, str]],
    wait_s: float,
) -> None:
    """The sports meet's items (409 the second time) and some members' entries (idempotent)."""
    from services.members.membership.domain import member_id_for

    response = await client.post(f"/activities/{activity_id}/meet", json=DEMO_MEET, headers=headers)
    if response.status_code not in (201, 409):
        raise SeedError(f"sports meet: {response.text[:300]}")
    for index, items in DEMO_ENTRIES.items():
        staff_no, campus = signers[index]
        member_id = member_id_for(staff_no)
        token = {"Authorization": f"Bearer {member_token(member_id, campus)}"}
        for item in items:
            url = f"/activities/{activity_id}/meet/items/{item}/entries"
            deadline = asyncio.get_running_loop().time() + wait_s
            while True:
                entered = await client.post(url, json={}, headers=token)
                if entered.status_code == 201:
                    break
                late = asyncio.get_running_loop().time() > deadline
                if entered.status_code != 404 or late:
                    raise SeedError(f"entry {staff_no} → {item}: {entered.text[:300]}")
                await asyncio.sleep(0.5)  # events has not learnt this member yet


async def _seed_plans(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    today: date,
    activities: dict[str, tuple[str, int]],
) -> None:
    """The 2023 plan from the source table, copied year by year up to the year of the last
    demo activity; this year's items of past months done (but one), and each plan item that a
    demo activity carries out linked to it. Loading, copying, moving to done and linking
    again change nothing."""
    loaded = await client.post("/plans/source/2023", headers=headers)
    if loaded.status_code not in (200, 201):
        raise SeedError(f"the 2023 plan: {loaded.text[:300]}")
    last = max([today.year, *(year for _, year in activities.values())])
    for year in range(2023, last):
        copied = await client.post(f"/plans/pl-{year}/copy", headers=headers)
        if copied.status_code not in (200, 201):
            raise SeedError(f"copy the {year} plan: {copied.text[:300]}")
    current = (await client.get(f"/plans/pl-{today.year}", headers=headers)).json()
    for item in current["items"]:
        if item["month_to"] < today.month and item["id"] != DEMO_PLAN_LATE:
            url = f"/plans/pl-{today.year}/items/{item['id']}/status"
            moved = await client.post(url, json={"status": "done"}, headers=headers)
            if moved.status_code != 200:
                raise SeedError(f"plan item {item['id']}: {moved.text[:300]}")
    for demo in DEMO_ACTIVITIES:
        if demo.plan_item is None or demo.slug not in activities:
            continue
        activity_id, year = activities[demo.slug]
        url = f"/plans/pl-{year}/items/{demo.plan_item}/links"
        linked = await client.post(
            url, json={"kind": "activity", "id": activity_id}, headers=headers
        )
        if linked.status_code != 200:
            raise SeedError(f"link {demo.slug}: {linked.text[:300]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.demo", description=__doc__)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    parser.add_argument("--events-url", default="http://127.0.0.1:8002")
    args = parser.parse_args(argv)
    try:
        added, existing = asyncio.run(seed(args.members_url.rstrip("/")))
        print(
            f"演示会员：新增 {added} 位，已存在 {existing} 位 / demo members: {added} added, {existing} already there"
        )
        added, existing = asyncio.run(seed_events(args.events_url.rstrip("/")))
        print(
            f"演示活动：新增 {added} 项，已存在 {existing} 项 / demo activities: {added} added, {existing} already there"
        )
    except (SeedError, httpx.HTTPError) as exc:
        print(f"演示数据写入失败 / demo data failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

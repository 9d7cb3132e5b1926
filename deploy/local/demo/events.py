"""events' demo data: the activities of the coming months and the annual plan.

A spring outing members join with family, the Teachers' Day celebration for the whole school,
a blood-donation drive, a lecture that is full with a waitlist, and the staff sports meet with
its items and some members' entries. Each has a reference (`ref`) that makes its id, so
drafting it again answers 409; sign-ups and entries are idempotent. Members (the members demo's
people, deploy/local/demo/members.py) sign up with their own tokens once events has learnt them
from `members.member`. And the annual plan: the 2023 table of the source work plan, copied year
by year into this year's (its past months done but one, which shows as overdue) and the next,
its items linked to the demo activities that carry them out; loading and copying again change
nothing (derived ids).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

import httpx

from deploy.local.demo.client import SeedError, admin_token, member_token
from deploy.local.demo.members import demo_members


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


async def seed(
    events_url: str,
    today: date | None = None,
    timeout_s: float = 15,
    wait_s: float = 60,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """Returns (activities added, already there); raises SeedError on any other answer
    (`transport`: a test's app).

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
    client_of = httpx.AsyncClient(base_url=events_url, timeout=timeout_s, transport=transport)
    async with client_of as client:
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

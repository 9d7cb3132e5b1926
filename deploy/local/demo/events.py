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

And a blood drive that has taken place (`seed_donors`), so the care desk has donors: welfare
raises a donor's condolence case by itself from events' attendance record (events → welfare
over Kafka), never from a seeder.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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
# The blood drive that has taken place: one for good (its reference has no date), held the day
# the demo is first seeded, its donors signed up beforehand and checked in at the door.
HELD_DRIVE = {
    "kind": "blood_donation",
    "title": "爱心献血进校园",
    "description": "献血车停靠主校区，献血后由工会登记慰问。",
    "campus": "main",
    "venue": "主校区行政楼前广场",
    "capacity": 40,
    "eligibility": {"age_min": 18, "age_max": 60},
    "ref": "demo-blood-drive-held",
}
HELD_DONORS = (9, 18, 19)  # member indices (demo_signers), all between 18 and 60
# Publishing needs a start still ahead (events refuses to publish the past), so the drive
# starts this long after it is drafted: time for the donors to sign up, and all the seeder
# waits before the door opens.
HELD_LEAD_S = 5.0
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


def not_learnt(answer: httpx.Response) -> bool:
    """events has not learnt the member from `members.member` yet: a member named in a
    command that events does not know is input to correct (422), not a missing page."""
    return answer.status_code == 422 and answer.json().get("code") == "member.not_found"


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
    answered `member.not_found` (not known yet) is tried again for up to `wait_s`. One the
    activity's rules refuse (the blood drive's age limit) is left out.
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
                    if not not_learnt(signed) or late:
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
                if not not_learnt(entered) or late:
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


async def seed_donors(
    events_url: str,
    timeout_s: float = 15,
    wait_s: float = 60,
    lead_s: float = HELD_LEAD_S,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """The blood drive that has taken place: drafted to start `lead_s` from now, published,
    its donors signed up as themselves, then, once it has started, checked in by a cadre at
    the door with their codes, and the drive ended. Returns (donors checked in, already
    checked in); raises SeedError on any other answer (`transport`: a test's app).

    Seeding again finds the drive (409, same reference) and its donors checked in: nothing is
    added. A donor whose sign-up did not make it before the start (events had not learnt
    them yet) is recorded at the door as a walk-in (现场登记), as a cadre would.
    """
    from services.members.membership.domain import member_id_for
    from shared.timeutil import SHANGHAI, utcnow

    headers = {"Authorization": f"Bearer {admin_token()}"}
    signers = demo_signers()
    donors = [(member_id_for(signers[i][0]), signers[i][1]) for i in HELD_DONORS]
    starts = (utcnow() + timedelta(seconds=lead_s)).replace(microsecond=0).astimezone(SHANGHAI)
    body = {
        **HELD_DRIVE,
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=3)).isoformat(),
    }
    added = existing = 0
    client_of = httpx.AsyncClient(base_url=events_url, timeout=timeout_s, transport=transport)
    async with client_of as client:
        made = await client.post("/activities", json=body, headers=headers)
        if made.status_code not in (201, 409):
            raise SeedError(f"POST /activities held drive: {made.text[:300]}")
        drive_id = made.json()["id"]
        drive = (await client.get(f"/activities/{drive_id}", headers=headers)).json()
        if drive["status"] == "cancelled":
            return 0, 0  # a cadre cancelled it by hand: the demo leaves what people did
        if drive["status"] == "draft":
            published = await client.post(f"/activities/{drive_id}/publish", headers=headers)
            if published.status_code != 200:
                raise SeedError(f"publish the held drive: {published.text[:300]}")
        start = datetime.fromisoformat(drive["starts_at"])
        for member_id, campus in donors:
            if utcnow() >= start:
                break  # too late to sign up: the rest come as walk-ins
            await _sign_up_before(client, drive_id, member_id, campus, start)
        ahead = (start - utcnow()).total_seconds()
        if ahead > 0:
            await asyncio.sleep(ahead)  # the door opens when the drive starts
        for member_id, _ in donors:
            if await _at_the_door(client, headers, drive_id, member_id, wait_s):
                added += 1
            else:
                existing += 1
        if drive["status"] != "completed":
            await _complete(client, headers, drive_id, wait_s)
    return added, existing


async def _sign_up_before(
    client: httpx.AsyncClient, drive_id: str, member_id: str, campus: str, start: datetime
) -> None:
    """Signs the member up as themself, tried again while events has not learnt them, until
    the start. The donors are chosen within the drive's age limit: a refusal is an
    error of the demo's data, not a donor to leave out (a walk-in is not asked for age)."""
    from shared.timeutil import utcnow

    token = {"Authorization": f"Bearer {member_token(member_id, campus)}"}
    url = f"/activities/{drive_id}/registrations"
    while True:
        signed = await client.post(url, json={"guests": 0}, headers=token)
        if signed.status_code in (200, 201):
            return
        closed = signed.json().get("code") == "registration.closed"
        if closed or (not_learnt(signed) and utcnow() >= start):
            return  # started meanwhile: recorded at the door as a walk-in
        if not not_learnt(signed):
            raise SeedError(f"sign-up {member_id} → held drive: {signed.text[:300]}")
        await asyncio.sleep(0.5)


async def _at_the_door(
    client: httpx.AsyncClient, headers: dict[str, str], drive_id: str, member_id: str, wait_s: float
) -> bool:
    """Checks the donor in with their code, or records them as a walk-in when they have no
    confirmed registration; False when they were checked in already."""
    found = await client.get(f"/activities/{drive_id}/registrations/{member_id}", headers=headers)
    if found.status_code not in (200, 404):
        raise SeedError(f"registration {member_id}: {found.text[:300]}")
    registration = found.json() if found.status_code == 200 else {}
    if registration.get("checked_in_at"):
        return False
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        if registration.get("code"):
            url, body = f"/activities/{drive_id}/checkins", {"code": registration["code"]}
        else:
            url, body = f"/activities/{drive_id}/walkins", {"member": member_id}
        answer = await client.post(url, json=body, headers=headers)
        if answer.status_code == 200:
            return True
        if answer.json().get("code") == "checkin.already":
            return False
        late = asyncio.get_running_loop().time() > deadline
        if not not_learnt(answer) or late:
            raise SeedError(f"check-in {member_id} → held drive: {answer.text[:300]}")
        await asyncio.sleep(0.5)  # a walk-in events has not learnt yet


async def _complete(
    client: httpx.AsyncClient, headers: dict[str, str], drive_id: str, wait_s: float
) -> None:
    """结束活动; tried again while events' clock has not reached the start yet."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        ended = await client.post(f"/activities/{drive_id}/complete", headers=headers)
        if ended.status_code == 200:
            return
        late = asyncio.get_running_loop().time() > deadline
        if ended.json().get("code") != "activity.not_started" or late:
            raise SeedError(f"complete the held drive: {ended.text[:300]}")
        await asyncio.sleep(0.5)

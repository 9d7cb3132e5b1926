"""Demo data of members' voice (events), seeded by two functions:

`seed_surveys`: the summer-activity survey (暑期教工活动意见征集) with answers, and the
suggestion box with a replied suggestion and one waiting. The survey belongs to the plan's June
item (loaded by events.py before this runs), is open from three days ago for two weeks, and
twenty main-campus demo members have answered it (the first members of the list, who the README
signs in as, are left to answer it themselves). Seeding again finds the survey and the
suggestions by their titles and adds nothing.

`seed_congress`: a 师德标兵 campaign in its voting phase, and a congress session with proposals
at different steps. The campaign "<year> 年度师德标兵评选" of the main campus: five nominations
(by themselves, by colleagues, by the union), four shortlisted and one rejected with a reason,
voting open for a week, and a dozen members' votes. The session "第五届教代会第三次会议": ten
representatives (the first heads main's delegation) and six proposals — one still collecting
co-signers, one submitted, one endorsed, one assigned to 后勤处, one answered and rated, one not
accepted — and two resolutions, one decided, one still open. Campaigns and sessions have no
reference of their own, so they are found by title: seeding again finds them and adds nothing.

People are the members demo's (`demo_signers`), known to events once it has learnt them from
`members.member` (a 403 or 404 is tried again for `wait_s`).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token
from deploy.local.demo.events import demo_signers

SURVEY_TITLE = "暑期教工活动意见征集"
QUESTIONS: list[dict[str, Any]] = [
    {
        "kind": "single",
        "title": "今年暑期您最希望参加哪类活动",
        "options": ["外出疗休养", "文体比赛", "读书会", "亲子活动"],
    },
    {
        "kind": "multiple",
        "title": "您方便参加的时间（最多选两项）",
        "options": ["7月上旬", "7月下旬", "8月上旬", "8月下旬"],
        "min_choices": 1,
        "max_choices": 2,
    },
    {"kind": "rating", "title": "您对去年暑期活动的满意度", "scale": 5},
    {"kind": "ranking", "title": "请为以下疗休养地点排序", "options": ["苏州本地", "杭州", "黄山"]},
    {"kind": "text", "title": "其他意见和建议", "required": False},
]
REMARKS = ["希望多组织亲子活动", "建议活动安排在周末", "读书会可以每月一次", "", "", ""]
ANSWERING = range(6, 26)  # demo signers who answered (the first ones answer themselves)
SUGGESTIONS = [
    # (signer, title, body, anonymous, reply)
    (
        3,
        "教工食堂晚餐时间",
        "晚自习值班的老师常常赶不上食堂晚餐，建议晚餐供应延长到 19:00。",
        True,
        "已与后勤处商定，自下月起教工食堂晚餐供应延长至 19:00。感谢您的建议！",
    ),
    (4, "健康驿站开放时间", "希望健康驿站中午也能开放，方便午休时测血压。", False, None),
]


def _answers(rnd: random.Random) -> dict[str, Any]:
    given: dict[str, Any] = {
        "q1": rnd.choices(range(4), weights=[5, 2, 3, 4])[0],
        "q2": sorted(rnd.sample(range(4), rnd.choice([1, 2]))),
        "q3": rnd.choices(range(1, 6), weights=[1, 1, 3, 6, 4])[0],
        "q4": rnd.sample(range(3), 3),
    }
    remark = rnd.choice(REMARKS)
    if remark:
        given["q5"] = remark
    return given


async def _plan_ref(client: httpx.AsyncClient, headers: dict[str, str], year: int) -> Any:
    found = await client.get(f"/plans/pl-{year}", headers=headers)
    if found.status_code != 200:
        return None
    for item in found.json()["items"]:
        if "意见征集" in item["title"]:
            return {"plan_id": f"pl-{year}", "item_id": item["id"]}
    return None


async def _survey(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, bool]:
    page = await client.get("/surveys", params={"limit": 200}, headers=headers)
    for survey in page.json()["items"]:
        if survey["title"] == SURVEY_TITLE:
            return survey["id"], False
    now = datetime.now(UTC).replace(microsecond=0)
    body = {
        "title": SURVEY_TITLE,
        "description": "为办好今年暑期教工活动，请花两分钟填写，您的意见会直接影响活动安排。",
        "campus": "*",
        "allow_change": True,
        "opens_at": (now - timedelta(days=3)).isoformat(),
        "closes_at": (now + timedelta(days=14)).isoformat(),
        "plan": await _plan_ref(client, headers, now.year),
        "questions": QUESTIONS,
    }
    made = await client.post("/surveys", json=body, headers=headers)
    if made.status_code != 201:
        raise SeedError(f"the summer survey: {made.text[:300]}")
    survey_id = made.json()["id"]
    published = await client.post(f"/surveys/{survey_id}/publish", headers=headers)
    if published.status_code != 200:
        raise SeedError(f"publish the summer survey: {published.text[:300]}")
    return survey_id, True


async def _as_member(call: Any, what: str, wait_s: float) -> httpx.Response:
    """A member's call, tried again while events has not learnt the member yet (403)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        response = await call()
        if response.status_code in (200, 201, 409):
            return response
        if response.status_code != 403 or asyncio.get_running_loop().time() > deadline:
            raise SeedError(f"{what} → {response.status_code}: {response.text[:300]}")
        await asyncio.sleep(0.5)


async def seed_surveys(
    events_url: str, timeout_s: float = 15, wait_s: float = 60
) -> tuple[int, int]:
    """The survey and the suggestions: returns (things added, already there); raises SeedError
    on any other answer."""
    from services.members.membership.domain import member_id_for

    headers = {"Authorization": f"Bearer {admin_token()}"}
    signers = demo_signers()
    added = existing = 0
    rnd = random.Random(2023)
    async with httpx.AsyncClient(base_url=events_url, timeout=timeout_s) as client:
        survey_id, created = await _survey(client, headers)
        added, existing = added + created, existing + (not created)
        url = f"/surveys/{survey_id}/answers"
        for index in ANSWERING:
            staff_no, campus = signers[index % len(signers)]
            token = {"Authorization": f"Bearer {member_token(member_id_for(staff_no), campus)}"}
            body: dict[str, Any] = {"answers": _answers(rnd)}
            await _as_member(
                lambda body=body, token=token: client.post(url, json=body, headers=token),
                f"answer {staff_no}",
                wait_s,
            )
        box = await client.get("/suggestions", params={"limit": 200}, headers=headers)
        titles = {s["title"] for s in box.json()["items"]}
        for index, title, text, anonymous, reply in SUGGESTIONS:
            if title in titles:
                existing += 1
                continue
            staff_no, campus = signers[index]
            token = {"Authorization": f"Bearer {member_token(member_id_for(staff_no), campus)}"}
            body = {"title": title, "body": text, "anonymous": anonymous}
            made = await _as_member(
                lambda body=body, token=token: client.post(
                    "/suggestions", json=body, headers=token
                ),
                f"suggestion {title}",
                wait_s,
            )
            added += 1
            if reply:
                url = f"/suggestions/{made.json()['id']}"
                forward = {"department": "后勤处", "note": "请研究延长晚餐供应"}
                for step, payload in (("forward", forward), ("reply", {"text": reply})):
                    done = await client.post(f"{url}/{step}", json=payload, headers=headers)
                    if done.status_code != 200:
                        raise SeedError(f"{step} {title}: {done.text[:300]}")
    return added, existing


# -- commendations and the staff congress --

SESSION_TITLE = "第五届教代会第三次会议"
PROPOSALS = (
    ("关于改善教工食堂午餐质量的提案", "logistics", "后勤处", "replied"),
    ("关于增设教工子女暑期托管班的提案", "pay", "工会", "assigned"),
    ("关于完善青年教师培养机制的提案", "teaching", "人事处", "endorsed"),
    ("关于增加校园停车位的提案", "logistics", "保卫处", "submitted"),
    ("关于在主校区增设母婴室的提案", "logistics", "后勤处", "draft"),
    ("关于调整全校作息时间的提案", "management", "教务处", "rejected"),
)
STEPS = ("draft", "submitted", "endorsed", "accepted", "assigned", "replied")


def _local(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).replace(tzinfo=None).isoformat(timespec="minutes") + (
        "+08:00"
    )


async def _retry(call: Any, what: str, wait_s: float) -> httpx.Response:
    """A call whose 404 means "events has not learnt this member yet"."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        response = await call()
        if response.status_code != 404 or asyncio.get_running_loop().time() > deadline:
            check(response, what)
            return response
        await asyncio.sleep(0.5)


async def seed_congress(
    events_url: str,
    timeout_s: float = 15,
    wait_s: float = 60,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """The campaign and the congress session: returns (campaigns and sessions added, already
    there); `transport`: a test's app."""
    from services.members.membership.domain import member_id_for

    admin = {"Authorization": f"Bearer {admin_token()}"}
    people = [(member_id_for(staff_no), campus) for staff_no, campus in demo_signers()]
    now = datetime.now(UTC)
    added = existing = 0
    async with httpx.AsyncClient(
        base_url=events_url, timeout=timeout_s, transport=transport
    ) as client:
        title = f"{now.year} 年度师德标兵评选"
        listed = (await client.get("/commendations", headers=admin)).json()
        if any(c["title"] == title for c in listed):
            existing += 1
        else:
            await _campaign(client, admin, title, now, people, wait_s)
            added += 1
        found = (
            await client.get("/congress/sessions", params={"q": SESSION_TITLE}, headers=admin)
        ).json()
        if found:
            existing += 1
        else:
            await _congress(client, admin, now, people, wait_s)
            added += 1
    return added, existing


def _as(member: tuple[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {member_token(*member)}"}


async def _campaign(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    title: str,
    now: datetime,
    people: list[tuple[str, str]],
    wait_s: float,
) -> None:
    body = {
        "title": title,
        "year": now.year,
        "campus": "main",
        "categories": [
            {
                "name": "师德标兵",
                "kind": "teacher_ethics",
                "quotas": [{"campus": "main", "count": 3}],
                "votes_per_voter": 3,
            },
            {
                "name": "市劳模推荐",
                "kind": "city_model_worker",
                "quotas": [{"campus": "main", "count": 1}],
                "votes_per_voter": 1,
            },
        ],
    }
    made = await client.post("/commendations", json=body, headers=admin)
    check(made, "POST /commendations")
    url = f"/commendations/{made.json()['id']}"
    reasons = (
        "从教二十年，所带班级连续三年获评优秀班集体，长期资助困难学生。",
        "主动承担青年教师带教工作，指导的三位新教师均已成为骨干。",
        "疫情期间坚持线上教学与家访，深受学生和家长好评。",
        "扎根后勤一线，牵头完成食堂改造，师生满意度明显提升。",
        "材料不全，仅有一句推荐语。",
    )
    nominated = []
    for i, reason in enumerate(reasons):
        nominee = people[i]
        by = _as(nominee) if i < 2 else admin  # two put themselves forward
        body = {"category_id": "c1", "member_id": nominee[0], "reasons": reason}
        done = await _retry(
            lambda by=by, body=body: client.post(f"{url}/nominations", json=body, headers=by),
            f"nominate {nominee[0]}",
            wait_s,
        )
        nominated.append(done.json().get("id") or f"{url.rsplit('/', 1)[1]}-c1-{nominee[0]}")
    for nid in nominated[:4]:
        check(
            await client.post(
                f"{url}/nominations/{nid}/review", json={"decision": "shortlisted"}, headers=admin
            ),
            "shortlist",
        )
    rejected = {"decision": "rejected", "reason": "推荐材料不全，请补充主要事迹后下次再报"}
    check(
        await client.post(f"{url}/nominations/{nominated[4]}/review", json=rejected, headers=admin),
        "reject",
    )
    check(await client.post(f"{url}/phase", json={"to": "reviewing"}, headers=admin), "review")
    voting = {"to": "voting", "voting_closes_at": _local(now + timedelta(days=7))}
    check(await client.post(f"{url}/phase", json=voting, headers=admin), "voting")
    for i, voter in enumerate(people[5:17]):
        chosen = [nominated[(i + k) % 4] for k in range(1 + i % 3)]
        check(
            await client.post(
                f"{url}/categories/c1/votes", json={"candidates": chosen}, headers=_as(voter)
            ),
            "vote",
        )


async def _congress(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    now: datetime,
    people: list[tuple[str, str]],
    wait_s: float,
) -> None:
    body = {
        "title": SESSION_TITLE,
        "year": now.year,
        "campus": "main",
        "cosign_min": 2,
        "proposals_until": _local(now + timedelta(days=14)),
    }
    made = await client.post("/congress/sessions", json=body, headers=admin)
    check(made, "POST /congress/sessions")
    sid = made.json()["id"]
    reps = people[:10]
    head = reps[0]
    register = {"member_ids": [r[0] for r in reps], "head": head[0]}
    await _retry(
        lambda: client.post(
            f"/congress/sessions/{sid}/representatives", json=register, headers=admin
        ),
        "representatives",
        wait_s,
    )
    due = (now + timedelta(days=10)).date().isoformat()
    for i, (title, category, department, step) in enumerate(PROPOSALS):
        proposer = reps[1 + i]
        text = {
            "title": title,
            "reasons": "教职工反映较多，影响日常工作与生活。",
            "measures": "建议相关部门调研后制定方案，并在教代会上通报落实情况。",
            "category": category,
            "department": department,
        }
        drafted = await client.post(
            f"/congress/sessions/{sid}/proposals", json=text, headers=_as(proposer)
        )
        check(drafted, "draft")
        url = f"/congress/proposals/{drafted.json()['id']}"
        signers = [r for r in reps[7:10] if r != proposer][: 1 if step == "draft" else 2]
        for signer in signers:
            check(await client.post(f"{url}/cosign", headers=_as(signer)), "cosign")
        if step == "draft":
            continue
        check(await client.post(f"{url}/submit", headers=_as(proposer)), "submit")
        if step == "submitted":
            continue
        check(await client.post(f"{url}/endorse", headers=_as(head)), "endorse")
        if step == "endorsed":
            continue
        if step == "rejected":
            no = {"decision": "rejected", "reason": "属于学校行政日常管理事项，转有关部门参考"}
            check(await client.post(f"{url}/decision", json=no, headers=admin), "reject")
            continue
        check(
            await client.post(f"{url}/decision", json={"decision": "accepted"}, headers=admin),
            "accept",
        )
        assign = {"department": department, "due_on": due}
        check(await client.post(f"{url}/assignment", json=assign, headers=admin), "assign")
        if step == "assigned":
            continue
        reply = {"text": "已引入第二家供餐单位，每月在校园网公示菜单，欢迎教职工监督。"}
        check(await client.post(f"{url}/reply", json=reply, headers=admin), "reply")
        rating = {"rating": "basically"}
        check(await client.post(f"{url}/rating", json=rating, headers=_as(proposer)), "rate")
    for title, close in (("学校工作报告", True), ("教代会提案工作报告", False)):
        made = await client.post(
            f"/congress/sessions/{sid}/resolutions",
            json={"title": title, "text": f"审议{title}。"},
            headers=admin,
        )
        check(made, "resolution")
        rid = made.json()["id"]
        for k, rep in enumerate(reps[: 8 if close else 4]):
            choice = "for" if k < 7 else "abstain"
            vote = {"choice": choice}
            check(
                await client.post(
                    f"/congress/resolutions/{rid}/votes", json=vote, headers=_as(rep)
                ),
                "vote",
            )
        if close:
            check(await client.post(f"/congress/resolutions/{rid}/close", headers=admin), "close")


__all__ = ["SeedError", "seed_congress", "seed_surveys"]

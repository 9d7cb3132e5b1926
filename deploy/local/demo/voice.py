"""Demo data of members' voice: the summer-activity survey (暑期教工活动意见征集) with answers,
and the suggestion box with a replied suggestion and one waiting.

The survey belongs to the plan's June item (loaded by events.py before this runs), is open
from three days ago for two weeks, and twenty main-campus demo members have answered it (the
first members of the list, who the README signs in as, are left to answer it themselves).
Seeding again finds the survey and the suggestions by their titles and adds nothing.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.local.demo.client import SeedError, admin_token, member_token
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


async def seed(events_url: str, timeout_s: float = 15, wait_s: float = 60) -> tuple[int, int]:
    """Returns (things added, already there); raises SeedError on any other answer."""
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

"""Members' voice demo data (events): a 师德标兵 campaign in its voting phase, and a congress
session with proposals at different steps.

The campaign "<year> 年度师德标兵评选" of the main campus: five nominations (by themselves, by
colleagues, by the union), four shortlisted and one rejected with a reason, voting open for a
week, and a dozen members' votes. The session "第五届教代会第三次会议": ten representatives
(the first heads main's delegation) and six proposals — one still collecting co-signers, one
submitted, one endorsed, one assigned to 后勤处, one answered and rated, one not accepted —
and two resolutions, one decided, one still open.

Campaigns and sessions have no reference of their own, so they are found by title: seeding
again finds them and adds nothing. People are the members demo's (`demo_signers`), known to
events once it has learnt them from `members.member` (a 404 is tried again for `wait_s`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deploy.local.demo.client import SeedError, admin_token, check, member_token
from deploy.local.demo.events import demo_signers

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


async def seed(
    events_url: str,
    timeout_s: float = 15,
    wait_s: float = 60,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[int, int]:
    """Returns (campaigns and sessions added, already there); `transport`: a test's app."""
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


__all__ = ["SeedError", "seed"]

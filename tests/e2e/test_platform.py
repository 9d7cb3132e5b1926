"""All four services as separate uvicorn processes on the real broker, database and SMTP.

The same flows a person tries by hand after `make run`: a cadre enrols a member over HTTP,
the member reads the welcome in notify's inbox, the welcome e-mail lands in the mailbox,
events and welfare know the member; then SIGTERM stops every service cleanly.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import signal
import uuid

import httpx
import pytest
from pymongo import AsyncMongoClient

from shared.timeutil import local_today
from tests.e2e.conftest import SERVICES, bearer
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e


async def test_enrol_member_then_inbox_mail_projections_and_clean_shutdown(platform, infra):
    async with httpx.AsyncClient(timeout=10) as client:
        await platform.wait_ready(client)
        staff_no = f"E2E{uuid.uuid4().hex[:6].upper()}"
        email = f"{staff_no.lower()}@school.local"
        response = await client.post(
            f"{platform.url('members')}/members",
            json={
                "staff_no": staff_no,
                "name": "孙丽",
                "campus": "north",
                "department": "音乐系",
                "email": email,
            },
            headers=bearer("cadre-n", ["cadre"], ["north"]),
        )
        assert response.status_code == 201, response.text
        member_id = response.json()["id"]
        as_member = bearer(member_id, ["member"], ["north"])

        async def welcomed() -> bool:
            r = await client.get(f"{platform.url('notify')}/inbox", headers=as_member)
            return r.status_code == 200 and len(r.json()) == 1

        await wait_until(welcomed, 60, "the welcome in the inbox")
        [message] = (await client.get(f"{platform.url('notify')}/inbox", headers=as_member)).json()
        assert message["title"] == "欢迎加入学校工会" and message["body"].startswith("孙丽，您好！")

        mongo: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
        try:
            for name in ("events", "welfare"):
                directory = mongo[platform.db(name)]["member_directory"]

                async def known(directory=directory) -> bool:
                    return await directory.find_one({"_id": member_id}) is not None

                await wait_until(known, 60, f"{name} to learn the member")
        finally:
            await mongo.close()

        if infra.maildir:

            async def mailed() -> bool:
                return any(m["To"] == email for m in mailbox.Maildir(infra.maildir))

            await wait_until(mailed, 30, "the welcome e-mail")

        metrics = (await client.get(f"{platform.url('notify')}/metrics")).text
        assert 'outcome="ok"' in metrics and "on_member_joined" in metrics

    codes = await asyncio.to_thread(platform.terminate)
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -SIGTERM;
    # None would mean the process had to be killed.
    clean = {0, -signal.SIGTERM}
    assert all(code in clean for code in codes.values()), {
        n: platform.log(n)[-2000:] for n in SERVICES
    }
    for name in SERVICES:
        assert "Application shutdown complete" in platform.log(name)
        lines = [
            json.loads(line) for line in platform.log(name).splitlines() if line.startswith("{")
        ]
        assert any(line["msg"] == f"{name} stopped" for line in lines), platform.log(name)[-2000:]


async def test_the_demo_seeds_a_living_union_once(platform):
    from deploy.local.demo.members import DEMO_PASSWORD, demo_members, seed, seed_passwords

    admin = bearer("e2e-admin", ["admin"], ["*"])
    base = platform.url("members")

    async def childcare_and_dues(client: httpx.AsyncClient) -> dict:
        rounds = (await client.get(f"{base}/childcare/rounds", headers=admin)).json()["items"]
        stats = [
            (await client.get(f"{base}/childcare/rounds/{r['id']}/stats", headers=admin)).json()
            for r in rounds
        ]
        month = f"{local_today():%Y-%m}"
        bills = (
            await client.get(f"{base}/dues/bills", params={"month": month}, headers=admin)
        ).json()
        return {
            "rounds": sorted(r["id"] for r in rounds),
            "answered": [s["answered"] for s in stats],
            "children": [s["children"] for s in stats],
            "bills": (bills["total"], bills["due_fen"], bills["paid_fen"], bills["owed_fen"]),
        }

    assert await seed(base) == (len(demo_members()), 0)
    async with httpx.AsyncClient(timeout=10) as client:
        first = await childcare_and_dues(client)
    assert len(first["rounds"]) == 2 and all(n > 0 for n in first["answered"])
    assert all(n > 0 for n in first["children"])
    total, due, paid, owed = first["bills"]
    active = [p for p in demo_members() if not p.body.get("as_applicant") and not p.then]
    assert total == len(active) and 0 < paid < due and owed == due - paid  # 2/3 paid
    signers = [p for p in demo_members() if not p.body.get("as_applicant")]
    leaver = next(p for p in signers if any(a == "withdraw" for a, _ in p.then))
    assert await seed_passwords(base) == len(signers) - 1  # all but the one who left
    chair = demo_members()[0].body["staff_no"]  # 主席: admin of every campus
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        signed = await client.post(
            "/auth/login", json={"staff_no": chair, "password": DEMO_PASSWORD}
        )
        assert signed.json()["status"] == "password_change_required", signed.text
        token = {"Authorization": f"Bearer {signed.json()['password_token']}"}
        changed = await client.post(
            "/auth/password", json={"new_password": "zhuxi-mima-1"}, headers=token
        )
        assert changed.json()["status"] == "ok" and "*" in changed.json()["campuses"]
        stranger = await client.post(  # no password: the same 401 as a stranger
            "/auth/login", json={"staff_no": leaver.body["staff_no"], "password": DEMO_PASSWORD}
        )
        assert stranger.status_code == 401
    assert await seed(base) == (0, len(demo_members()))  # twice: nothing
    assert await seed_passwords(base) == 0  # nobody's password is reset
    async with httpx.AsyncClient(timeout=10) as client:
        assert await childcare_and_dues(client) == first
        again = await client.post(  # the chair's own password survives a second seed
            f"{base}/auth/login", json={"staff_no": chair, "password": "zhuxi-mima-1"}
        )
        assert again.json()["status"] == "ok", again.text

        async def counted(status: str, n: int) -> bool:
            url = f"{platform.url('members')}/members?status={status}&limit=1"
            return (await client.get(url, headers=admin)).json()["total"] == n

        await wait_until(lambda: counted("retired", 4), 30, "the retirees in the list")
        await wait_until(lambda: counted("applied", 3), 30, "the applicants in the list")
        campuses = (await client.get(f"{platform.url('members')}/campuses", headers=admin)).json()
        assert {"main", "north"} <= {c["code"] for c in campuses}
        await _the_demo_activities_once(platform, client, admin)
        await _the_demo_voice_once(platform, client, admin)
        await _the_demo_congress_once(platform, client, admin)
        await _the_demo_funds_once(platform, client, admin)
        await _the_whole_table_in_its_order(platform)


async def _the_whole_table_in_its_order(platform) -> None:
    """What `make run` runs: every seeder of the table, in its order, answers, and none stops
    the ones after it (a fresh `make run` once stopped at the care cases, on a line the funds
    demo gives no budget, and never seeded the notices). The ones above are there already."""
    from deploy.local.demo.order import SEEDERS

    answers = {s.label: await s.seed(platform.url(s.service)) for s in SEEDERS}
    assert all(added + existing > 0 for added, existing in answers.values()), answers


async def _the_demo_funds_once(platform, client: httpx.AsyncClient, admin) -> None:
    """welfare's demo books: budgets adopted, incomes and payments recorded, one reversed,
    once; the demo dues payments arrive as 会费收入 over Kafka; the ledger checks out."""
    from deploy.local.demo.funds import BUDGETS, POSTINGS
    from deploy.local.demo.funds import seed as seed_funds

    welfare, year = platform.url("welfare"), local_today().year
    written = len(BUDGETS) + len(POSTINGS) + 1  # and the reversal
    assert await seed_funds(welfare) == (written, 0)
    assert await seed_funds(welfare) == (0, written)  # twice: nothing new

    async def dues_arrived() -> bool:
        found = await client.get(f"{welfare}/funds/budgets/main/{year}", headers=admin)
        lines = {line["code"]: line for line in found.json()["lines"]}
        return lines["income_dues"]["actual_fen"] > 0

    await wait_until(dues_arrived, 60, "the demo dues as income on the main ledger")
    entries = await client.get(
        f"{welfare}/funds/ledgers/main/{year}/entries", params={"kind": "reversal"}, headers=admin
    )
    assert [e["reason"] for e in entries.json()["entries"]] == ["重复报销，冲正"]
    check = await client.get(f"{welfare}/funds/ledgers/main/{year}/check", headers=admin)
    assert check.json()["intact"] is True, check.text


async def _the_demo_activities_once(platform, client: httpx.AsyncClient, admin) -> None:
    """events' demo: four activities drafted, published and signed up for over HTTP, once."""
    from deploy.local.demo.events import DEMO_ACTIVITIES
    from deploy.local.demo.events import seed as seed_events

    events = platform.url("events")
    assert await seed_events(events) == (len(DEMO_ACTIVITIES), 0)
    assert await seed_events(events) == (0, len(DEMO_ACTIVITIES))  # twice: nothing new

    async def listed() -> bool:
        found = (await client.get(f"{events}/activities", headers=admin)).json()
        return found["total"] == len(DEMO_ACTIVITIES)

    await wait_until(listed, 30, "the demo activities in the list")
    page = (await client.get(f"{events}/activities", headers=admin)).json()["items"]
    lecture = next(a for a in page if a["kind"] == "lecture")
    detail = (await client.get(f"{events}/activities/{lecture['id']}", headers=admin)).json()
    assert (detail["seats_taken"], detail["capacity"]) == (8, 8)

    async def three_waiting() -> bool:
        url = f"{events}/activities/{lecture['id']}"
        return (await client.get(url, headers=admin)).json()["waiting"] == 3

    await wait_until(three_waiting, 30, "the lecture's waitlist")
    outing = next(a for a in page if a["kind"] == "outing")

    async def with_families() -> bool:  # six family members come along
        url = f"{events}/activities/{outing['id']}/registrations"
        return sum(r["guests"] for r in (await client.get(url, headers=admin)).json()["items"]) == 6

    await wait_until(with_families, 30, "the outing's registrations with their guests")

    # The annual plan: 2023 from the source table, and this year's copy with its months kept.
    from shared.timeutil import local_today

    today = local_today()
    source = (await client.get(f"{events}/plans/pl-2023", headers=admin)).json()
    assert source["items_total"] == 21 and source["version"] == 1
    current = (await client.get(f"{events}/plans/pl-{today.year}", headers=admin)).json()
    assert [i["months"] for i in current["items"]] == [i["months"] for i in source["items"]]
    overdue = [i["id"] for i in current["items"] if i["overdue"]]
    assert overdue == (["05"] if today.month > 3 else [])
    sports = next(a for a in page if a["kind"] == "sports_meet")
    meet = (await client.get(f"{events}/activities/{sports['id']}/meet", headers=admin)).json()
    assert [i["name"] for i in meet["items"]][:2] == ["托球跑", "袋鼠跳"]
    assert sum(i["entries"] for i in meet["items"]) == 15
    year_of_meet = await client.get(f"{events}/plans/pl-{sports['starts_at'][:4]}", headers=admin)
    [meet_item] = [i for i in year_of_meet.json()["items"] if i["id"] == "14"]
    assert meet_item["links"] == [{"kind": "activity", "id": sports["id"]}]


async def _the_demo_voice_once(platform, client: httpx.AsyncClient, admin) -> None:
    """voice's demo: the summer survey with twenty answers and its plan item, the suggestion
    box with a replied (anonymous) suggestion; seeding again adds nothing."""
    from deploy.local.demo.voice import ANSWERING, SUGGESTIONS, SURVEY_TITLE
    from deploy.local.demo.voice import seed_surveys as seed_voice

    events = platform.url("events")
    assert await seed_voice(events) == (1 + len(SUGGESTIONS), 0)

    async def listed() -> bool:
        surveys = (await client.get(f"{events}/surveys", headers=admin)).json()["items"]
        box = (await client.get(f"{events}/suggestions", headers=admin)).json()["items"]
        return len(surveys) == 1 and len(box) == len(SUGGESTIONS)

    await wait_until(listed, 30, "the demo survey and suggestions in the lists")
    assert await seed_voice(events) == (0, 1 + len(SUGGESTIONS))
    [survey] = (await client.get(f"{events}/surveys", headers=admin)).json()["items"]
    assert survey["title"] == SURVEY_TITLE and survey["phase"] == "open"
    assert survey["plan_id"] is not None
    results = (await client.get(f"{events}/surveys/{survey['id']}/results", headers=admin)).json()
    assert results["respondents"] == len(ANSWERING)
    box = (await client.get(f"{events}/suggestions", headers=admin)).json()["items"]
    replied = [s for s in box if s["replies"]]
    assert len(replied) == 1 and replied[0]["anonymous"] and replied[0]["member_id"] is None


async def _the_demo_congress_once(platform, client: httpx.AsyncClient, admin) -> None:
    """voice's other demo: a 师德标兵 campaign in its voting phase with votes, a congress
    session with proposals at each step; seeding again adds nothing."""
    from deploy.local.demo.voice import SESSION_TITLE, seed_congress

    events = platform.url("events")
    assert await seed_congress(events) == (2, 0)

    async def listed() -> bool:
        campaigns = (await client.get(f"{events}/commendations", headers=admin)).json()
        sessions = await client.get(
            f"{events}/congress/sessions", params={"q": SESSION_TITLE}, headers=admin
        )
        return len(campaigns) == 1 and len(sessions.json()) == 1

    await wait_until(listed, 30, "the demo campaign and congress session in the lists")
    assert await seed_congress(events) == (0, 2)
    [campaign] = (await client.get(f"{events}/commendations", headers=admin)).json()
    found = (await client.get(f"{events}/commendations/{campaign['id']}", headers=admin)).json()
    assert found["phase"] == "voting" and found["voting_open"]
    [session] = (
        await client.get(f"{events}/congress/sessions", params={"q": SESSION_TITLE}, headers=admin)
    ).json()
    register = await client.get(
        f"{events}/congress/sessions/{session['id']}/proposals", headers=admin
    )
    statuses = sorted(p["status"] for p in register.json())
    assert statuses == sorted(["draft", "submitted", "endorsed", "assigned", "rated", "rejected"])

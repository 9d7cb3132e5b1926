"""The exam desk's forms (issue 15) through web, as a cadre's browser sends them, with members,
welfare and notify in process on the real broker and database: 记录已体检 for one booking, the
provider's GBK list with its report row by row (and a list that is no such list refused in
Chinese), and 提醒未预约者 pressed three times — one event, one inbox notice for each member
who has not booked and none for those who have. Finance reads the desk without a form."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today, utcnow
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration

SERVICES = ("members", "welfare", "notify")
ADMIN = bearer("admin-1", ["admin"], ["*"])
YEAR = local_today().year + 1  # the slots lie ahead: bookable, and a reminder makes sense
REMINDER = "welfare.exam_plan.booking_reminder_requested.v1"
FORMS = re.compile(r'<form method="post" action="([^"]+)"')


@dataclass
class Desk:
    stack: Stack
    web: httpx.AsyncClient
    app: object
    staff: dict[str, str]  # member id -> staff number
    ids: list[str]  # A, B, C booked; D, E not


@pytest.fixture(scope="module")
async def desk(infra) -> AsyncIterator[Desk]:
    stack = await build_stack(infra, SERVICES)
    urls = {f"{n}_url": f"http://{n}" for n in (*SERVICES, "events")}
    settings = WebSettings.isolated(stack.prefix, infra.kafka_bootstrap, infra.mongo_url, **urls)
    transports = {n: httpx.ASGITransport(app=stack.runtimes[n].app) for n in SERVICES}
    app = web_bootstrap(settings, configure_logs=False, transports=transports)
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    try:
        tag = uuid.uuid4().hex[:6].upper()
        made = [await join(stack, f"E{tag}{i}", name=f"体检{i}") for i in range(5)]
        staff = {m["id"]: m["staff_no"] for m in made}
        ids = list(staff)
        for service in ("welfare", "notify"):  # both learn of them from members' events
            directory = stack.runtimes[service].db[MEMBER_DIRECTORY]

            async def known(directory=directory) -> bool:
                found = directory.find({"_id": {"$in": ids}, "status": "active"}, {"_id": 1})
                return len(await found.to_list()) == len(ids)

            await wait_until(known, 60, f"the members in {service}'s directory")
        body = {
            "title": f"{YEAR}年度教职工体检",
            "union_pays": False,
            "providers": [{"code": "rmyy", "name": "市人民医院体检中心"}],
            "packages": [{"code": "basic", "name": "基础套餐", "price_fen": 45_000}],
            "slots": [
                {
                    "code": "a",
                    "provider": "rmyy",
                    "day": f"{YEAR}-03-10",
                    "period": "上午",
                    "capacity": 9,
                },
                {
                    "code": "b",
                    "provider": "rmyy",
                    "day": f"{YEAR}-03-11",
                    "period": "下午",
                    "capacity": 9,
                },
            ],
        }
        base = f"/exams/plans/main/{YEAR}"
        put = await stack.welfare_http.put(base, json=body, headers=ADMIN)
        assert put.status_code == 200, put.text
        for m in ids[:3]:
            booked = await stack.welfare_http.post(
                f"{base}/bookings",
                json={"slot": "a", "package": "basic"},
                headers=bearer(m, ["member"], ["main"]),
            )
            assert booked.status_code == 200, booked.text
        yield Desk(stack, web, app, staff, ids)
    finally:
        await web.aclose()
        await close_stack(stack)


async def as_persona(desk: Desk, roles: list[str]) -> str:
    """A browser session for a staff member of main (as sign-in makes one); its CSRF token."""
    sessions = desk.app.state.web.sessions  # type: ignore[attr-defined]
    subject = f"staff-{'-'.join(roles)}"
    session = sessions.new(
        member_id=subject,
        roles=sorted(roles),
        campuses=["main"],
        access_token=mint_token(subject, roles, ["main"]),
        access_expires_at=utcnow() + timedelta(hours=1),
    )
    desk.web.cookies.clear()
    desk.web.cookies.set("gh_session", await sessions.create(session))
    return session.csrf


def page_url() -> str:
    return f"/admin/exams?campus=main&year={YEAR}"


async def booking(desk: Desk, member_id: str) -> dict:
    got = await desk.stack.welfare_http.get(
        f"/exams/plans/main/{YEAR}/bookings/{member_id}", headers=ADMIN
    )
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_cadre_records_completion_by_hand_and_from_the_providers_list(desk: Desk):
    a, b, c, d, _ = desk.ids
    await as_persona(desk, ["finance", "member"])
    read = await desk.web.get(page_url())
    assert read.status_code == 200 and f"{YEAR}年度教职工体检" in read.text
    assert FORMS.findall(read.text) == ["/logout"]  # welfare would refuse finance every write

    csrf = await as_persona(desk, ["cadre", "member"])
    page = await desk.web.get(page_url())
    assert page.status_code == 200
    forms = FORMS.findall(page.text)
    base = f"/admin/exams/main/{YEAR}"
    assert {f"{base}/bookings/{m}/completion" for m in (a, b, c)} <= set(forms)
    assert f"{base}/bookings/{d}/completion" not in forms  # not booked: nothing to record
    assert f"{base}/completions" in forms and f"{base}/reminder" in forms
    assert f'value="{YEAR}-03-10"' in page.text  # the booked day, offered

    headers = {"X-CSRF-Token": csrf}
    done = await desk.web.post(
        f"{base}/bookings/{a}/completion", data={"completed_on": f"{YEAR}-03-10"}, headers=headers
    )
    assert done.status_code == 303 and done.headers["location"].endswith("msg=completed")
    assert (await booking(desk, a))["completed_on"] == f"{YEAR}-03-10"
    after = await desk.web.get(done.headers["location"])
    assert "已记录体检完成" in after.text
    assert f"{base}/bookings/{a}/completion" not in FORMS.findall(after.text)
    refused = await desk.web.post(
        f"{base}/bookings/{d}/completion", data={"completed_on": f"{YEAR}-03-10"}, headers=headers
    )
    assert refused.status_code == 409 and "该会员没有有效的体检预约" in refused.text

    text = (
        "工号,体检日期\r\n"
        f"{desk.staff[b]},{YEAR}/3/10\r\n"
        f"{desk.staff[a]},{YEAR}-03-10\r\n"  # recorded by hand just now
        f"S-NOBODY,{YEAR}-03-10\r\n"
    )
    listed = await desk.web.post(
        f"{base}/completions",
        files={"file": ("体检名单.csv", text.encode("gbk"), "text/csv")},
        headers=headers,
    )
    assert listed.status_code == 200, listed.text
    assert "名单已处理：记录 1 人，此前已记录 1 人，1 行有误" in listed.text
    report = listed.text[listed.text.index('id="completion-report"') :]
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", report)
    assert rows == [
        ("2", desk.staff[b], "已记录", "已记录完成"),
        ("3", desk.staff[a], "此前已记录", "此前已记录完成"),
        ("4", "S-NOBODY", "有误", "工号 S-NOBODY 不是本校区会员"),
    ]
    assert (await booking(desk, b))["status"] == "completed"
    assert (await booking(desk, c))["status"] == "booked"

    wrong = await desk.web.post(
        f"{base}/completions",
        files={"file": ("名单.csv", "姓名,日期\n张三,2027-03-10\n".encode(), "text/csv")},
        headers=headers,
    )
    assert wrong.status_code == 409 and "第一行须有「工号」和「体检日期」两列" in wrong.text
    empty = await desk.web.post(
        f"{base}/completions", files={"file": ("空.csv", b"", "text/csv")}, headers=headers
    )
    assert empty.status_code == 422 and "请选择体检机构的名单文件" in empty.text


async def test_remind_those_not_booked_pressed_three_times_tells_each_once(desk: Desk):
    stack = desk.stack
    booked, not_booked = desk.ids[:3], desk.ids[3:]
    csrf = await as_persona(desk, ["cadre", "member"])
    url = f"/admin/exams/main/{YEAR}/reminder"
    headers = {"X-CSRF-Token": csrf}
    pressed = [
        *await asyncio.gather(*(desk.web.post(url, headers=headers) for _ in range(2))),
        await desk.web.post(url, headers=headers),
    ]
    assert [p.status_code for p in pressed] == [200, 200, 200]
    sent = [p for p in pressed if "已发出提醒：2 位未预约的会员将收到通知" in p.text]
    again = [p for p in pressed if "今天已提醒过 2 位未预约的会员，不再重复发送" in p.text]
    assert (len(sent), len(again)) == (1, 2)

    title = f"请预约{YEAR}年度体检"

    async def reminded(member_id: str) -> list[dict]:
        got = await stack.notify_http.get("/inbox", headers=bearer(member_id, ["member"], ["main"]))
        assert got.status_code == 200, got.text
        return [m for m in got.json() if m["title"] == title]

    async def both_told() -> bool:
        return all(await asyncio.gather(*(reminded(m) for m in not_booked)))

    await wait_until(both_told, 30, "the reminder in the inboxes of those not booked")
    events = [
        json.loads(r.value)
        for r in await read_all(stack.bootstrap, stack.topic("welfare.exam_plan"), 1000)
    ]
    [event] = [e for e in events if e["type"] == REMINDER]
    assert sorted(event["data"]["member_ids"]) == sorted(not_booked)
    deliveries = await stack.notify.db["deliveries"].find({"event_id": event["id"]}).to_list()
    inbox = sorted(d["member_id"] for d in deliveries if d["channel"] == "inbox")
    assert inbox == sorted(not_booked)
    assert {d["member_id"] for d in deliveries} == set(not_booked)
    for m in not_booked:
        [message] = await reminded(m)
        assert message["body"].startswith(
            f"体检{desk.ids.index(m)}，您好！「{YEAR}年度教职工体检」"
        )
        assert f"体检时段安排至{YEAR}年3月11日" in message["body"]
    for m in booked:
        assert await reminded(m) == []

"""待办 on the desk's home, gathered from every service with the caller's own token: web in
process calling members, events, welfare and notify in process on the real broker and
database. Each role sees only what it can act on, within its campuses; a refusing source is
left out."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from services.events.congress.domain import Assignment
from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.aggregate import Actor
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today, utcnow
from tests.integration import events_kit as kit
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-todo", ["admin"], ["*"])
CADRE = bearer("cadre-todo", ["cadre"], ["main"])
TODO = re.compile(
    r'data-todo="(\w+)"><a href="([^"]+)">([^<]+) <strong class="count">(\d+)</strong>'
)


@dataclass
class Desk:
    stack: Stack
    app: object
    web: httpx.AsyncClient


@pytest.fixture(scope="module")
async def desk(infra) -> AsyncIterator[Desk]:
    services = ("members", "events", "welfare", "notify")
    stack = await build_stack(infra, services)
    urls = {f"{n}_url": f"http://{n}" for n in services}
    settings = WebSettings.isolated(stack.prefix, infra.kafka_bootstrap, infra.mongo_url, **urls)
    transports = {n: httpx.ASGITransport(app=stack.runtimes[n].app) for n in services}
    app = web_bootstrap(settings, configure_logs=False, transports=transports)
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    try:
        yield Desk(stack, app, web)
    finally:
        await web.aclose()
        await close_stack(stack)


async def _ok(response: httpx.Response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def home_of(desk: Desk, subject: str, roles: list[str], campuses: list[str]) -> str:
    """The desk's home as the person sees it (a session made as sign-in makes one)."""
    sessions = desk.app.state.web.sessions  # type: ignore[attr-defined]
    session = sessions.new(
        member_id=subject,
        roles=roles,
        campuses=campuses,
        access_token=mint_token(subject, roles, campuses),
        access_expires_at=utcnow() + timedelta(hours=1),
    )
    desk.web.cookies.clear()
    desk.web.cookies.set("gh_session", await sessions.create(session))
    response = await desk.web.get("/admin")
    assert response.status_code == 200, response.text
    return response.text


def todos(page: str) -> dict[str, list[tuple[str, str, int]]]:
    found: dict[str, list[tuple[str, str, int]]] = {}
    for key, href, label, count in TODO.findall(page):
        found.setdefault(key, []).append((href.replace("&amp;", "&"), label, int(count)))
    return found


async def seed(stack: Stack) -> str:
    """On main: an application, a failed delivery, last year's plan with an item still
    planned, a condolence case raised, a festival plan in draft."""
    applicant = await _ok(
        await stack.members_http.post(
            "/members",
            json={
                "staff_no": f"T{uuid.uuid4().hex[:7].upper()}",
                "name": "申请人",
                "campus": "main",
                "department": "艺术系",
                "as_applicant": True,
            },
            headers=ADMIN,
        )
    )
    assert applicant["status"] == "applied"

    event_id = f"e-todo-{uuid.uuid4().hex[:8]}"
    failed = {
        "_id": f"{event_id}:{applicant['id']}:email",
        "event_id": event_id,
        "event_type": "members.member.approved.v1",
        "template": "welcome",
        "category": "membership",
        "mandatory": False,
        "member_id": applicant["id"],
        "campus": "main",
        "variables": {},
        "sealed": None,
        "tries": 5,
        "failures": 5,
        "last_error": "SMTPRecipientsRefused",
        "created_at": utcnow(),
        "status": "failed",
        "channel": "email",
        "next_at": None,
    }
    assert await stack.notify.context.deliveries.add_many([failed])

    last_year = local_today().year - 1
    plan = await _ok(
        await stack.events_http.post(
            "/plans", json={"year": last_year, "campus": "main"}, headers=CADRE
        )
    )
    item = {"month_from": 12, "title": "年终慰问走访", "owner": "工会办公室"}
    await _ok(await stack.events_http.post(f"/plans/{plan['id']}/items", json=item, headers=CADRE))

    member = f"m-todo-{uuid.uuid4().hex[:8]}"
    await stack.welfare.db[MEMBER_DIRECTORY].insert_one(
        {
            "_id": member,
            "staff_no": f"TW{uuid.uuid4().hex[:6]}",
            "name": "被慰问人",
            "campus": "main",
            "department": "艺术系",
            "gender": "female",
            "birth_year": 1970,
            "status": "active",
            "joined_on": "2000-09-01",
            "roles": [],
            "sequence": "0000000001.000",
        }
    )
    case = {
        "member_id": member,
        "kind": "blood_donation",
        "amount_fen": 100,
        "summary": "献血慰问",
        "occurred_on": f"{last_year}-06-01",
    }
    await _ok(await stack.welfare_http.post("/cases", json=case, headers=CADRE))
    year = local_today().year + 1
    festival = {
        "title": "端午节福利",
        "festival": "dragon_boat",
        "year": year,
        "campuses": ["main"],
        "standard_fen": 100,
        "options": [{"code": "zongzi", "name": "粽子", "price_fen": 100, "form": "food"}],
        "reference_date": f"{year}-01-01",
        "deadline": f"{year}-06-01T00:00:00+08:00",
        "default_option": "zongzi",
    }
    await _ok(await stack.welfare_http.post("/welfare/plans", json=festival, headers=ADMIN))
    return plan["id"]


async def late_proposal(stack: Stack) -> str:
    """A session of main whose accepted proposal is past its reply date."""
    http = stack.events_http
    reps = await kit.in_directory(stack, 3, f"TD{uuid.uuid4().hex[:4].upper()}")
    body = {
        "title": "第六届教代会第一次会议",
        "year": local_today().year,
        "campus": "main",
        "cosign_min": 2,
        "proposals_until": kit.later(1),
    }
    session = await _ok(await http.post("/congress/sessions", json=body, headers=CADRE))
    sid = session["id"]
    await _ok(
        await http.post(
            f"/congress/sessions/{sid}/representatives",
            json={"member_ids": reps, "head": reps[2]},
            headers=CADRE,
        ),
        200,
    )
    draft = {
        "title": "关于延长图书馆开放时间的提案",
        "reasons": "晚间无处备课",
        "measures": "开放到晚上十点",
        "category": "logistics",
        "department": "图书馆",
    }
    made = await _ok(
        await http.post(
            f"/congress/sessions/{sid}/proposals", json=draft, headers=kit.member(reps[0])
        )
    )
    url = f"/congress/proposals/{made['id']}"
    for rep in reps[1:]:
        await _ok(await http.post(f"{url}/cosign", headers=kit.member(rep)), 200)
    await _ok(await http.post(f"{url}/submit", headers=kit.member(reps[0])), 200)
    await _ok(await http.post(f"{url}/endorse", headers=kit.member(reps[2])), 200)
    decision = {"decision": "accepted"}
    await _ok(await http.post(f"{url}/decision", json=decision, headers=CADRE), 200)
    # Assigned two days ago with yesterday as its reply date (the API takes no date in the
    # past: the assignment is made as the domain would have made it then).
    yesterday = local_today() - timedelta(days=1)
    cmd = Assignment(department="图书馆", due_on=yesterday)
    await stack.events.context.congress.proposals.change(
        made["id"],
        lambda p: p.assign(cmd, yesterday - timedelta(days=1)),
        Actor("test-seed"),
        "assign",
    )

    async def late() -> bool:  # the register reads the proposals' view, caught up shortly
        url = f"/congress/sessions/{sid}/proposals"
        found = await http.get(url, params={"overdue": "true"}, headers=CADRE)
        return found.status_code == 200 and len(found.json()) == 1

    await wait_until(late, 30, "the proposal overdue in the register")
    return sid


async def test_each_role_sees_what_it_can_act_on_within_its_campuses(desk: Desk):
    plan_id = await seed(desk.stack)
    session_id = await late_proposal(desk.stack)
    last_year = local_today().year - 1

    cadre = todos(await home_of(desk, "cadre-main", ["cadre", "member"], ["main"]))
    assert sorted(cadre) == [
        "applications",
        "failed_deliveries",
        "overdue_items",
        "overdue_proposals",
    ]
    assert cadre["applications"] == [("/admin/members?status=applied", "入会申请待批准", 1)]
    assert cadre["failed_deliveries"] == [("/admin/deliveries", "发送失败的消息", 1)]
    [(href, label, count)] = cadre["overdue_items"]
    assert (href, count) == (f"/admin/plan?year={last_year}&plan={plan_id}", 1)
    assert label.endswith("逾期的工作要点")
    assert cadre["overdue_proposals"] == [
        (f"/admin/congress/{session_id}/replies", "第六届教代会第一次会议：提案逾期未答复", 1)
    ]

    # The chair (admin) approves cases and festival plans too.
    chair = todos(await home_of(desk, "chair", ["admin", "cadre", "member"], ["*", "main"]))
    assert sorted(chair) == [
        "applications",
        "cases",
        "failed_deliveries",
        "festival_plans",
        "overdue_items",
        "overdue_proposals",
    ]
    assert chair["cases"] == [("/admin/care?status=raised", "慰问事项待审批", 1)]
    [(href, _, count)] = chair["festival_plans"]
    assert href.startswith("/admin/welfare/") and count == 1

    # Another campus's cadre: nothing of main's.
    east = await home_of(desk, "cadre-east", ["cadre", "member"], ["east"])
    assert todos(east) == {}
    assert "暂无待办事项" in east

    # Finance and auditors act on none of these: no 待办 at all.
    finance = await home_of(desk, "finance-main", ["finance", "member"], ["main"])
    assert 'id="todo"' not in finance

"""Who may open what on web: one row per page route (read from web's own routes, so a page
added without a row fails), the enforced answer for every persona (personas.py), with web in
process calling members, events and notify in process on the real broker and database.

A persona's browser session is made as sign-in makes it (web's own session store, with a
token minted for the persona); POSTs carry the session's CSRF token and an empty form, so
an allowed caller reaches the form's own check (400) or its redirect (303), and a refused one
gets the refusal page (403) — or the sign-in redirect (303) without a session. Pages that
write get a fresh target per persona.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.settings import WebSettings
from shared.auth import mint_token
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today, utcnow
from tests.integration.conftest import Stack, bearer, build_stack, close_stack, join
from tests.integration.events_kit import known_to_events, later, shortlisted_and_voting
from tests.integration.personas import PERSONAS, TOKENS, as_row, expect
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
CADRE = bearer("cadre-1", ["cadre"], ["main"])
_N = itertools.count(1)


@dataclass
class Site:
    stack: Stack
    web: httpx.AsyncClient
    app: object
    me: str  # the member persona's id (a real member of main)
    other: str
    cookies: dict[str, tuple[str, str]]  # persona -> (session id, csrf)


async def enrol(stack: Stack) -> str:
    return (await join(stack, f"W{uuid.uuid4().hex[:8].upper()}", name="网页目标"))["id"]


@pytest.fixture(scope="module")
async def site(infra) -> AsyncIterator[Site]:
    services = ("members", "events", "welfare", "notify")
    stack = await build_stack(infra, services)
    urls = {f"{n}_url": f"http://{n}" for n in services}
    settings = WebSettings.isolated(stack.prefix, infra.kafka_bootstrap, infra.mongo_url, **urls)
    transports = {n: httpx.ASGITransport(app=stack.runtimes[n].app) for n in services}
    app = web_bootstrap(settings, configure_logs=False, transports=transports)
    me, other = await enrol(stack), await enrol(stack)
    await known_to_events(stack, me, other)
    web = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    try:
        yield Site(stack, web, app, me, other, {})
    finally:
        await web.aclose()
        await close_stack(stack)


async def sign_in_everyone(site: Site) -> None:
    """A session for each persona, made as sign-in makes one (fresh for every row: the
    sign-out row ends them)."""
    sessions = site.app.state.web.sessions  # type: ignore[attr-defined]
    for persona, token in TOKENS.items():
        if token is None:
            continue
        subject, roles, campuses = token
        subject = {"member": site.me, "other_member": site.other}.get(persona, subject)
        session = sessions.new(
            member_id=subject,
            roles=sorted(roles),
            campuses=sorted(campuses),
            access_token=mint_token(subject, roles, campuses),
            access_expires_at=utcnow() + timedelta(hours=1),
        )
        site.cookies[persona] = (await sessions.create(session), session.csrf)


# -- targets ----------------------------------------------------------------------------------


async def _ok(response) -> dict:
    assert response.status_code in (200, 201, 202), response.text
    return response.json()


async def activity(site: Site, publish: bool = True) -> dict[str, str]:
    http = site.stack.events_http
    body = {
        "kind": "lecture",
        "title": "网页矩阵讲座",
        "campus": "main",
        "venue": "报告厅",
        "starts_at": later(7),
        "ends_at": later(7, 2),
        "capacity": 50,
    }
    made = await _ok(await http.post("/activities", json=body, headers=CADRE))
    if publish:
        await _ok(await http.post(f"/activities/{made['id']}/publish", headers=CADRE))
    return {"activity_id": made["id"], "step": "publish", "member_id": site.me}


async def registered(site: Site) -> dict[str, str]:
    found = await activity(site)
    url = f"/activities/{found['activity_id']}/registrations"
    await _ok(await site.stack.events_http.post(url, json={"member_id": site.me}, headers=ADMIN))
    return found


async def draft(site: Site) -> dict[str, str]:
    return await activity(site, publish=False)


async def member(site: Site) -> dict[str, str]:
    return {"member_id": await enrol(site.stack), "action": "withdraw"}


async def notice(site: Site) -> dict[str, str]:
    from services.notify.notices.domain import Notice
    from services.notify.notices.store import Inbox

    made = Notice(f"n-web-{uuid.uuid4().hex[:8]}", site.me, "main", "welcome", "通知", "内容")
    assert await Inbox(site.stack.notify.db).put(made)
    return {"notice_id": made.id}


async def an_import(site: Site) -> dict[str, str]:
    text = f"工号,姓名,校区,部门\nW{uuid.uuid4().hex[:8].upper()},新人,main,艺术系\n"
    files = {"file": ("名单.csv", text.encode(), "text/csv")}
    made = await _ok(await site.stack.members_http.post("/imports", files=files, headers=CADRE))
    return {"import_id": made["id"]}


async def a_round(site: Site) -> dict[str, str]:
    body = {"campus": "main", "survey_date": f"2099-01-{next(_N) % 28 + 1:02d}"}
    response = await site.stack.members_http.post("/childcare/rounds", json=body, headers=ADMIN)
    if response.status_code == 409:  # that day has its round already: another year's
        body["survey_date"] = f"2098-02-{next(_N) % 28 + 1:02d}"
        response = await site.stack.members_http.post("/childcare/rounds", json=body, headers=ADMIN)
    return {"round_id": (await _ok(response))["id"]}


_PLAN: dict[str, str] = {}


async def plan_item(site: Site) -> dict[str, str]:
    http = site.stack.events_http
    if not _PLAN:
        made = await _ok(
            await http.post("/plans", json={"year": 2099, "campus": "main"}, headers=ADMIN)
        )
        _PLAN["id"] = made["id"]
    item = {"month_from": 1, "title": "元旦慰问", "owner": "工会办公室"}
    added = await _ok(await http.post(f"/plans/{_PLAN['id']}/items", json=item, headers=ADMIN))
    return {"plan_id": _PLAN["id"], "item_id": added["id"]}


async def nothing(site: Site) -> dict[str, str]:
    return {}


# funds-plans: a festival plan of main, published (the members of main are entitled).
_WELFARE: dict[str, str] = {}


async def welfare_plan(site: Site) -> dict[str, str]:
    if not _WELFARE:
        http = site.stack.welfare_http
        directory = site.stack.welfare.context.policy.directory
        for member_id in (site.me, site.other):
            for _ in range(300):  # welfare learns the members from members' events
                if await directory.get(member_id):
                    break
                await asyncio.sleep(0.1)
        body = {
            "title": "端午节福利",
            "festival": "dragon_boat",
            "year": 2099,
            "campuses": ["main"],
            "standard_fen": 100,
            "options": [{"code": "zongzi", "name": "粽子", "price_fen": 100, "form": "food"}],
            "reference_date": "2099-01-01",
            "deadline": "2099-06-01T00:00:00+08:00",
            "default_option": "zongzi",
        }
        made = await _ok(await http.post("/welfare/plans", json=body, headers=ADMIN))
        plan_id = made["id"]
        await _ok(await http.post(f"/welfare/plans/{plan_id}/approval", headers=ADMIN))
        await _ok(await http.post(f"/welfare/plans/{plan_id}/publication", headers=ADMIN))
        _WELFARE.update(plan_id=plan_id, entitlement_id=f"{plan_id}:{site.me}")
    return {**_WELFARE, "campus": "main", "department": "学前教育系", "step": "publication"}


async def scheme(site: Site) -> dict[str, str]:
    """The major-illness scheme of main this year (welfare-exams)."""
    from shared.timeutil import local_today

    year = local_today().year
    body = {
        "name": "大病互助保障",
        "kind": "major_illness",
        "insurer": "互助会",
        "premium_fen": 5000,
        "enrol_until": f"{year}-12-31",
    }
    url = f"/mutual-aid/schemes/main/{year}/major"
    await _ok(await site.stack.welfare_http.put(url, json=body, headers=ADMIN))
    return {"code": "major"}


async def claim(site: Site) -> dict[str, str]:
    return {"claim_id": "clm-000000000000"}


Target = Callable[[Site], Awaitable[dict[str, str]]]


async def _benefit() -> dict[str, str]:
    return {"benefit_id": "b-2098-m-nobody"}


async def _step(site: Site, step: str) -> dict[str, str]:
    return {**(await care_case(site)), "step": step}


_HARDSHIP: dict[str, str] = {}


async def hardship_file(site: Site) -> dict[str, str]:
    """The member persona's hardship file (opened once: one file per member)."""
    if not _HARDSHIP:
        directory = site.stack.welfare.db["member_directory"]

        async def known() -> bool:
            return await directory.find_one({"_id": site.me}) is not None

        await wait_until(known, 60, "the member in welfare's directory")
        body = {"member_id": site.me, "level": "ordinary", "reason": "家庭困难"}
        made = await _ok(await site.stack.welfare_http.post("/hardship", json=body, headers=ADMIN))
        _HARDSHIP["file_id"] = made["id"]
    return dict(_HARDSHIP)


async def care_case(site: Site) -> dict[str, str]:
    """A condolence case for the member persona (welfare knows them from members' events)."""
    directory = site.stack.welfare.db["member_directory"]

    async def known() -> bool:
        return await directory.find_one({"_id": site.me}) is not None

    await wait_until(known, 60, "the member in welfare's directory")
    body = {
        "member_id": site.me,
        "kind": "illness",
        "amount_fen": 100,
        "summary": "住院",
        "occurred_on": "2098-06-01",
    }
    return {
        "case_id": (
            await _ok(await site.stack.welfare_http.post("/cases", json=body, headers=ADMIN))
        )["id"]
    }


# Statuses of pages: 200 shown, 303 to the sign-in page (no session), 403 the refusal page,
# 404 not found (a staff token whose subject is no member, on a member's page); a POST: 400
# the form is incomplete (allowed), 303 done and redirected, 409 the service's rule.
PUBLIC = expect(200, anonymous=200)
SIGNED_IN = expect(200, anonymous=303)
STAFF = expect(200, member=403, other_member=403, system=403, anonymous=303)
POST_REFUSED = 403  # no CSRF token without a session: refused before anything else
# funds-plans: a plan of main is read by main's cadre, finance and auditor; handed out by
# main's cadre (another campus's cadre is refused by the welfare service: 403).
WELFARE_READERS = expect(403, anonymous=303, cadre_main=200, finance=200, auditor=200, admin=200)
WELFARE_CADRE = expect(403, anonymous=303, cadre_main=200, admin=200)

ROWS: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/healthz"): (nothing, PUBLIC),
    ("GET", "/readyz"): (nothing, PUBLIC),
    ("GET", "/metrics"): (nothing, PUBLIC),
    ("GET", "/"): (nothing, expect(303, anonymous=303)),
    ("GET", "/login"): (nothing, PUBLIC),
    ("POST", "/login"): (nothing, expect(200, anonymous=403)),
    ("GET", "/login/password"): (nothing, expect(200, anonymous=303)),
    ("POST", "/login/password"): (nothing, expect(200, anonymous=403)),
    ("GET", "/login/forgot"): (nothing, PUBLIC),
    ("POST", "/login/forgot"): (nothing, expect(200, anonymous=403)),
    ("GET", "/login/link"): (nothing, PUBLIC),
    ("POST", "/login/link"): (nothing, expect(200, anonymous=403)),
    ("POST", "/logout"): (nothing, expect(303, anonymous=403)),
    ("POST", "/prefs/large"): (nothing, expect(303, anonymous=403)),
    ("GET", "/m"): (nothing, expect(404, anonymous=303, member=200, other_member=200)),
    ("GET", "/m/activities"): (nothing, SIGNED_IN),
    ("GET", "/m/activities/{activity_id}"): (
        activity,
        expect(200, anonymous=303, cadre_east=404, system=403),
    ),
    ("POST", "/m/activities/{activity_id}/signup"): (
        activity,
        # 422: signed in, but not in events' member directory (member.not_found).
        expect(422, anonymous=403, member=303, other_member=303, cadre_east=404, system=403),
    ),
    ("POST", "/m/activities/{activity_id}/cancel"): (
        registered,
        expect(404, anonymous=403, member=303),
    ),
    ("GET", "/m/activities/{activity_id}/qr"): (registered, expect(404, anonymous=303, member=200)),
    ("GET", "/m/registrations"): (nothing, SIGNED_IN),
    ("GET", "/m/inbox"): (nothing, SIGNED_IN),
    ("GET", "/m/inbox/{notice_id}"): (notice, expect(404, anonymous=303, member=200)),
    ("POST", "/m/inbox/{notice_id}/read"): (notice, expect(404, anonymous=403, member=303)),
    # notify-core: notify answers for the caller's own messages and settings, whoever signs in.
    ("POST", "/m/inbox/read-all"): (nothing, expect(303, anonymous=403)),
    ("GET", "/m/settings/notifications"): (nothing, SIGNED_IN),
    ("POST", "/m/settings/notifications"): (nothing, expect(303, anonymous=403)),
    ("GET", "/m/profile"): (nothing, expect(404, anonymous=303, member=200, other_member=200)),
    ("POST", "/m/profile/contact"): (
        nothing,
        expect(404, anonymous=403, member=303, other_member=303),
    ),
    ("GET", "/m/contact/confirm"): (nothing, SIGNED_IN),  # the page holds nothing itself
    ("POST", "/m/contact/confirm"): (  # no token in the form: the service's 422, shown
        nothing,
        expect(422, anonymous=403),
    ),
    ("POST", "/m/profile/children/{round_id}"): (
        a_round,
        expect(404, anonymous=403, member=303, other_member=303, admin=403, system=403, chair=404),
    ),
    ("GET", "/m/plan"): (nothing, SIGNED_IN),
    ("GET", "/admin"): (nothing, STAFF),
    ("GET", "/admin/members"): (
        nothing,
        expect(403, anonymous=303, cadre_main=200, cadre_east=200, admin=200),
    ),
    ("GET", "/admin/members/export.csv"): (
        nothing,
        expect(403, anonymous=303, cadre_main=200, cadre_east=200, admin=200),
    ),
    ("GET", "/admin/members/{member_id}"): (
        member,
        expect(200, anonymous=303, member=403, other_member=403, cadre_east=404, system=403),
    ),
    ("POST", "/admin/members/{member_id}/{action}"): (
        member,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("GET", "/admin/imports"): (nothing, STAFF),
    ("POST", "/admin/imports"): (
        nothing,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/imports/{import_id}"): (
        an_import,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("POST", "/admin/imports/{import_id}/commit"): (
        an_import,
        expect(303, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/activities"): (nothing, STAFF),
    ("GET", "/admin/activities/new"): (nothing, STAFF),
    ("POST", "/admin/activities/new"): (
        nothing,
        expect(403, anonymous=403, cadre_main=409, cadre_east=409, admin=409),
    ),
    ("GET", "/admin/activities/{activity_id}/edit"): (
        draft,
        expect(
            403, anonymous=303, cadre_main=200, cadre_east=404, finance=404, auditor=404, admin=200
        ),
    ),
    ("POST", "/admin/activities/{activity_id}/edit"): (
        draft,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("GET", "/admin/activities/{activity_id}"): (
        activity,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("GET", "/admin/activities/{activity_id}/registrations.csv"): (
        registered,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("POST", "/admin/activities/{activity_id}/{step}"): (
        draft,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("POST", "/admin/activities/{activity_id}/registrations/add"): (
        activity,
        expect(403, anonymous=403, cadre_main=409, cadre_east=404, admin=409),
    ),
    ("POST", "/admin/activities/{activity_id}/registrations/{member_id}/remove"): (
        registered,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("GET", "/admin/activities/{activity_id}/desk"): (
        activity,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("POST", "/admin/activities/{activity_id}/desk/checkin"): (
        activity,
        expect(200, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/plan"): (nothing, STAFF),
    # -- funds-plans: 我的福利 and the welfare desk --
    ("GET", "/m/welfare"): (nothing, SIGNED_IN),
    ("POST", "/m/welfare/{entitlement_id}/choice"): (welfare_plan, expect(400, anonymous=403)),
    ("POST", "/m/welfare/{entitlement_id}/receipt"): (
        welfare_plan,
        expect(403, anonymous=403, member=409),
    ),
    ("GET", "/admin/welfare"): (nothing, STAFF),
    ("POST", "/admin/welfare/new"): (
        nothing,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/welfare/{plan_id}"): (welfare_plan, WELFARE_READERS),
    ("POST", "/admin/welfare/{plan_id}/copy"): (
        welfare_plan,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("POST", "/admin/welfare/{plan_id}/{step}"): (
        welfare_plan,
        expect(403, anonymous=403, cadre_main=303, admin=303),
    ),
    ("POST", "/admin/welfare/{plan_id}/issue/{campus}/{department}"): (
        welfare_plan,
        expect(403, anonymous=403, cadre_main=200, admin=200),
    ),
    ("GET", "/admin/welfare/{plan_id}/signoff/{campus}/{department}"): (
        welfare_plan,
        WELFARE_CADRE,
    ),
    ("GET", "/admin/welfare/{plan_id}/signoff/{campus}/{department}/sheet.xlsx"): (
        welfare_plan,
        WELFARE_CADRE,
    ),
    ("GET", "/admin/welfare/{plan_id}/report.xlsx"): (welfare_plan, WELFARE_READERS),
    # welfare-care: the member's cases and birthday gift; the cadre's case desk.
    ("GET", "/m/care"): (nothing, expect(200, anonymous=303, system=403)),
    ("POST", "/m/care/birthdays/{benefit_id}"): (
        lambda _: _benefit(),
        expect(200, anonymous=403, system=403),
    ),
    # An empty form: the amount refused on the page (system: welfare refuses its list).
    ("POST", "/m/care/cases"): (nothing, expect(422, anonymous=403, system=403)),
    ("GET", "/admin/care"): (
        nothing,
        expect(200, anonymous=303, member=403, other_member=403, system=403),
    ),
    ("POST", "/admin/care/cases"): (
        nothing,
        expect(409, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/care/cases/{case_id}"): (
        care_case,
        expect(403, anonymous=303, cadre_main=200, finance=200, auditor=200, admin=200),
    ),
    ("POST", "/admin/care/cases/{case_id}/{step}"): (
        lambda site: _step(site, "approve"),
        expect(403, anonymous=403, admin=303),  # the chair approves
    ),
    # An empty form: the service's 422 shown on the case's page (to those who may read it).
    ("POST", "/admin/care/cases/{case_id}/visits"): (
        care_case,
        expect(403, anonymous=403, cadre_main=422, finance=422, auditor=422, admin=422),
    ),
    ("GET", "/admin/care/hardship"): (
        nothing,
        expect(403, anonymous=303, cadre_main=200, cadre_east=200, admin=200),
    ),
    ("POST", "/admin/care/hardship"): (  # an empty form: the page again, with the problem
        nothing,
        expect(403, anonymous=403, cadre_main=200, cadre_east=200, admin=200),
    ),
    # Empty forms: welfare's 422 on the register's page, for those who may read it.
    ("POST", "/admin/care/hardship/{file_id}/help"): (
        hardship_file,
        expect(403, anonymous=403, cadre_main=422, cadre_east=422, admin=422),
    ),
    ("POST", "/admin/care/hardship/{file_id}/reviews"): (
        hardship_file,
        expect(403, anonymous=403, cadre_main=422, cadre_east=422, admin=422),
    ),
    # issue 15: a month's birthday benefits, read by cadres, finance and the auditor (the
    # ledger's batches traced to their members); the run is the whole school's admin's, but
    # an empty form is refused first by the page's own check (400).
    ("GET", "/admin/care/birthdays"): (
        nothing,
        expect(
            403, anonymous=303, cadre_main=200, cadre_east=200, finance=200, auditor=200, admin=200
        ),
    ),
    ("POST", "/admin/care/birthdays/runs"): (
        nothing,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("POST", "/admin/plan/{plan_id}/items/{item_id}/status"): (
        plan_item,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
}

# welfare-exams: exam and mutual-aid pages (welfare answers for what is not there yet)
WELFARE_EXAMS = {
    ("GET", "/m/exam"): (nothing, SIGNED_IN),
    ("POST", "/m/exam/book"): (nothing, expect(400, anonymous=403)),
    ("POST", "/m/exam/cancel"): (nothing, expect(404, anonymous=403)),
    ("GET", "/m/mutual-aid"): (nothing, SIGNED_IN),
    ("POST", "/m/mutual-aid/{code}/enrol"): (scheme, expect(400, anonymous=403)),
    ("POST", "/m/mutual-aid/{code}/claim"): (scheme, expect(400, anonymous=403)),
    ("GET", "/admin/exams"): (nothing, STAFF),
    ("GET", "/admin/mutual-aid"): (nothing, STAFF),
    ("GET", "/admin/mutual-aid/{code}/enrolments.xlsx"): (  # main's scheme; others see none
        scheme,
        expect(
            403,
            anonymous=303,
            cadre_main=200,
            cadre_east=404,
            finance=200,
            auditor=200,  # the premiums on the ledger, traced to their enrolments
            admin=200,
            multi_campus=404,
        ),
    ),
    ("POST", "/admin/mutual-aid/claims/{claim_id}/status"): (
        claim,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
}
ROWS.update(WELFARE_EXAMS)

# issue 15: the exam desk's forms. An empty form is incomplete for staff (400); the reminder
# has no fields: welfare sends it for a cadre of main (again: "已提醒过", still 200) and
# refuses everyone else (403).
_EXAM_DESK_YEAR = "2094"
_EXAM_DESK: dict[str, str] = {}


async def exam_desk(site: Site) -> dict[str, str]:
    """Main's exam plan of 2094, with `me` among those who have not booked."""
    if not _EXAM_DESK:
        directory = site.stack.welfare.context.policy.directory
        for _ in range(300):  # welfare learns the members from members' events
            if await directory.get(site.me):
                break
            await asyncio.sleep(0.1)
        body = {
            "title": "网页矩阵体检",
            "union_pays": False,
            "providers": [{"code": "rmyy", "name": "人民医院"}],
            "packages": [{"code": "basic", "name": "基础套餐", "price_fen": 40_000}],
            "slots": [
                {"code": "a", "provider": "rmyy", "day": f"{_EXAM_DESK_YEAR}-03-10", "capacity": 9}
            ],
        }
        url = f"/exams/plans/main/{_EXAM_DESK_YEAR}"
        await _ok(await site.stack.welfare_http.put(url, json=body, headers=ADMIN))
        _EXAM_DESK["done"] = "yes"
    return {"campus": "main", "year": _EXAM_DESK_YEAR, "member_id": site.me}


EXAM_DESK_FORM = expect(400, anonymous=403, member=403, other_member=403, system=403)
ROWS.update(
    {
        ("POST", "/admin/exams/{campus}/{year}/bookings/{member_id}/completion"): (
            exam_desk,
            EXAM_DESK_FORM,
        ),
        ("POST", "/admin/exams/{campus}/{year}/completions"): (exam_desk, EXAM_DESK_FORM),
        ("POST", "/admin/exams/{campus}/{year}/reminder"): (
            exam_desk,
            expect(403, anonymous=403, cadre_main=200, admin=200),
        ),
    }
)


# -- voice: commendations and the staff congress (issue 16) -----------------------------------


async def campaign(site: Site) -> dict[str, str]:
    """A campaign of main open for nominations."""
    body = {
        "title": "网页矩阵评选",
        "year": 2026,
        "campus": "main",
        "categories": [{"name": "师德标兵", "quotas": [{"campus": "main", "count": 1}]}],
    }
    made = await _ok(await site.stack.events_http.post("/commendations", json=body, headers=ADMIN))
    return {"campaign_id": made["id"], "action": "nominate"}


def acting(target: Target, action: str) -> Target:
    """`target` with the `{action}` of the route's path."""

    async def made(site: Site) -> dict[str, str]:
        return {**await target(site), "action": action}

    return made


async def congress(site: Site) -> dict[str, str]:
    """A session of main whose representatives are the member personas, with a draft of `me`."""
    http = site.stack.events_http
    body = {"title": "网页矩阵教代会", "year": 2026, "campus": "main", "proposals_until": later(1)}
    made = await _ok(await http.post("/congress/sessions", json=body, headers=ADMIN))
    sid = made["id"]
    reps = {"member_ids": [site.me, site.other]}
    await _ok(
        await http.post(f"/congress/sessions/{sid}/representatives", json=reps, headers=ADMIN)
    )
    proposal = {"title": "提案", "reasons": "理由", "measures": "措施", "department": "后勤处"}
    drafted = await _ok(
        await http.post(
            f"/congress/sessions/{sid}/proposals",
            json=proposal,
            headers=bearer(site.me, ["member"], ["main"]),
        )
    )
    return {"session_id": sid, "proposal_id": drafted["id"], "action": "cosign"}


STAFF_OF_MAIN = expect(200, anonymous=303, member=403, other_member=403, cadre_east=404, system=403)
VOICE_ROWS: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/m/voice"): (nothing, SIGNED_IN),
    ("GET", "/m/commendations/{campaign_id}"): (
        campaign,
        expect(200, anonymous=303, cadre_east=404),
    ),
    # An empty form: the service's 422 on the page (another campus does not see it: 404).
    ("POST", "/m/commendations/{campaign_id}/{action}"): (
        campaign,
        expect(422, anonymous=403, cadre_east=404),
    ),
    ("GET", "/m/congress/{session_id}"): (congress, expect(200, anonymous=303, cadre_east=404)),
    ("POST", "/m/congress/{session_id}/{action}"): (
        acting(congress, "propose"),
        expect(422, anonymous=403, cadre_east=404),
    ),
    ("GET", "/m/proposals/{proposal_id}"): (congress, expect(200, anonymous=303, cadre_east=404)),
    # Co-signing: the other representative does (303); the proposer may not (409); who is no
    # representative is refused (403).
    ("POST", "/m/proposals/{proposal_id}/{action}"): (
        congress,
        expect(403, anonymous=403, member=409, other_member=303, cadre_east=404),
    ),
    ("GET", "/admin/commendations"): (nothing, STAFF),
    ("POST", "/admin/commendations"): (
        nothing,
        expect(403, anonymous=403, cadre_main=422, cadre_east=422, admin=422),
    ),
    ("GET", "/admin/commendations/{campaign_id}"): (
        campaign,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("GET", "/admin/commendations/{campaign_id}/print"): (
        campaign,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("GET", "/admin/commendations/{campaign_id}/recommendation.xlsx"): (
        campaign,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("POST", "/admin/commendations/{campaign_id}/{action}"): (
        acting(campaign, "phase"),
        expect(403, anonymous=403, cadre_main=422, cadre_east=404, admin=422),
    ),
    ("GET", "/admin/congress"): (nothing, STAFF),
    ("POST", "/admin/congress"): (
        nothing,
        expect(403, anonymous=403, cadre_main=422, cadre_east=422, admin=422),
    ),
    # The register is public to the campus; the desk's forms are refused by the service.
    ("GET", "/admin/congress/{session_id}"): (congress, STAFF_OF_MAIN),
    ("GET", "/admin/congress/{session_id}/replies"): (congress, STAFF_OF_MAIN),
    ("POST", "/admin/congress/{session_id}/{action}"): (
        acting(congress, "resolution"),
        expect(403, anonymous=403, cadre_main=422, cadre_east=404, admin=422),
    ),
    # No form to fill: a cadre's import is done (303 to the page with its count).
    ("POST", "/admin/congress/{session_id}/representatives/from-terms"): (
        congress,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("POST", "/admin/proposals/{proposal_id}/{action}"): (
        acting(congress, "reply"),
        expect(403, anonymous=403, cadre_main=422, cadre_east=404, admin=422),
    ),
}
ROWS.update(VOICE_ROWS)
# -- members' voice: surveys, the suggestion box, the calendar link --


async def survey(site: Site) -> dict[str, str]:
    http = site.stack.events_http
    body = {
        "title": "网页矩阵问卷",
        "campus": "main",
        "opens_at": later(-1),
        "closes_at": later(7),
        "questions": [{"kind": "single", "title": "形式", "options": ["甲", "乙"]}],
    }
    made = await _ok(await http.post("/surveys", json=body, headers=CADRE))
    await _ok(await http.post(f"/surveys/{made['id']}/publish", headers=CADRE))
    return {"survey_id": made["id"], "step": "close", "fmt": "csv"}


async def suggestion(site: Site) -> dict[str, str]:
    body = {"title": "建议", "body": "多办读书会", "anonymous": True}
    me = bearer(site.me, ["member"], ["main"])
    made = await _ok(await site.stack.events_http.post("/suggestions", json=body, headers=me))
    return {"suggestion_id": made["id"]}


VOICE_PAGES: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/m/surveys"): (nothing, SIGNED_IN),
    ("GET", "/m/surveys/{survey_id}"): (survey, expect(200, anonymous=303, cadre_east=404)),
    # An empty form: members reach the survey's rule (422, shown on the form); no member: 403.
    ("POST", "/m/surveys/{survey_id}"): (
        survey,
        expect(403, anonymous=403, member=422, other_member=422, cadre_east=404),
    ),
    ("GET", "/m/suggestions"): (nothing, SIGNED_IN),
    ("POST", "/m/suggestions"): (nothing, expect(400, anonymous=403)),
    ("GET", "/m/calendar"): (nothing, SIGNED_IN),
    ("GET", "/admin/surveys"): (nothing, STAFF),
    ("GET", "/admin/surveys/new"): (nothing, STAFF),
    ("POST", "/admin/surveys/new"): (
        nothing,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("GET", "/admin/surveys/{survey_id}"): (
        survey,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("POST", "/admin/surveys/{survey_id}/{step}"): (
        survey,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("GET", "/admin/surveys/{survey_id}/results.{fmt}"): (
        survey,
        expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200),
    ),
    ("GET", "/admin/suggestions"): (
        nothing,
        expect(403, anonymous=303, cadre_main=200, cadre_east=200, admin=200),
    ),
    ("POST", "/admin/suggestions/{suggestion_id}/reply"): (
        suggestion,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
    ("POST", "/admin/suggestions/{suggestion_id}/forward"): (
        suggestion,
        expect(400, anonymous=403, member=403, other_member=403, system=403),
    ),
}
ROWS |= VOICE_PAGES


# funds-pages: the finance desk, 经费公开 and the dues pages. Finance, the auditor and the
# chair read the books (a cadre's page gets the service's refusal); forms of the desk are
# for staff (an empty form: 400), the service decides the role of each write.
async def a_bill(site: Site) -> dict[str, str]:
    return {"month": "2099-01", "member_id": site.me}


BOOKS = expect(403, anonymous=303, finance=200, auditor=200, admin=200)
DESK_FORM = expect(400, anonymous=403, member=403, other_member=403, system=403)
FUNDS_PAGES: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/admin/funds"): (nothing, BOOKS),
    ("POST", "/admin/funds/adopt"): (nothing, DESK_FORM),
    ("POST", "/admin/funds/amend"): (nothing, DESK_FORM),
    ("GET", "/admin/funds/ledger"): (nothing, BOOKS),
    ("POST", "/admin/funds/ledger/post"): (nothing, DESK_FORM),
    ("POST", "/admin/funds/ledger/reverse"): (nothing, DESK_FORM),
    ("GET", "/admin/funds/check"): (nothing, BOOKS),
    ("GET", "/admin/funds/export.csv"): (nothing, BOOKS),
    ("GET", "/admin/funds/export.xlsx"): (nothing, BOOKS),
    ("GET", "/admin/funds/summary"): (nothing, BOOKS),
    ("GET", "/admin/funds/summary.csv"): (nothing, BOOKS),
    ("GET", "/admin/funds/summary.xlsx"): (nothing, BOOKS),
    ("GET", "/m/funds"): (nothing, expect(200, anonymous=303, system=403)),
    ("GET", "/admin/dues"): (nothing, BOOKS),
    ("POST", "/admin/dues/generate"): (nothing, DESK_FORM),
    ("POST", "/admin/dues/pay"): (nothing, DESK_FORM),
    ("POST", "/admin/dues/import"): (nothing, DESK_FORM),
    ("GET", "/admin/dues/bills/{month}/{member_id}"): (  # no such bill: the readers' 404
        a_bill,
        expect(403, anonymous=303, finance=404, auditor=404, admin=404),
    ),
    ("POST", "/admin/dues/bills/{month}/{member_id}/reverse"): (a_bill, DESK_FORM),
    ("GET", "/admin/dues/arrears"): (nothing, BOOKS),
    ("GET", "/m/dues"): (nothing, expect(200, anonymous=303)),
}
ROWS.update(FUNDS_PAGES)


# -- webhook subscriptions (admin only: notify refuses the others, web shows its 403) ---------


async def webhook(site: Site) -> dict[str, str]:
    """A subscription with one delivery, put there as notify's routes would (this stack does
    not allow local receivers, and no public host resolves in the test)."""
    from services.notify.webhooks.domain import Subscription
    from shared.aggregate import Actor

    hooks = site.stack.notify.context.webhooks
    sub = Subscription.register(
        f"wh-{uuid.uuid4().hex[:12]}",
        "main",
        "https://hooks.example.org/in",
        ["welfare."],
        "网页矩阵",
        "admin-all",
        utcnow(),
    )
    await hooks.store.add(sub, Actor("test-seed"))
    event_id = f"e-web-{uuid.uuid4().hex[:8]}"
    await hooks.deliveries.enqueue(sub.id, event_id, "welfare.budget.threshold_reached.v1", "{}")
    return {"subscription_id": sub.id, "delivery_id": f"{sub.id}:{event_id}"}


ADMIN_PAGE = expect(403, anonymous=303, admin=200)
ADMIN_POST = expect(403, anonymous=403, admin=303)
WEBHOOK_ROWS: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/admin/webhooks"): (nothing, ADMIN_PAGE),
    # An empty form: notify answers 422, the page shows the form again with its words.
    ("POST", "/admin/webhooks"): (nothing, expect(403, anonymous=403, admin=422)),
    ("GET", "/admin/webhooks/{subscription_id}"): (webhook, ADMIN_PAGE),
    ("POST", "/admin/webhooks/{subscription_id}/pause"): (webhook, ADMIN_POST),
    ("POST", "/admin/webhooks/{subscription_id}/resume"): (webhook, ADMIN_POST),
    ("POST", "/admin/webhooks/{subscription_id}/secret"): (
        webhook,
        expect(403, anonymous=403, admin=200),
    ),
    ("POST", "/admin/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"): (
        webhook,
        ADMIN_POST,
    ),
}
ROWS.update(WEBHOOK_ROWS)


# -- 通知公告 (notify-notices): notify decides who posts and reads where; web shows it -------


async def announcement(site: Site) -> dict[str, str]:
    """A mandatory notice of main, posted by its cadre."""
    body = {"campus": "main", "title": "网页矩阵通知", "body": "内容", "mandatory": True}
    made = await _ok(await site.stack.notify_http.post("/announcements", json=body, headers=CADRE))
    return {"announcement_id": made["id"]}


NOTICE_CADRES = expect(403, anonymous=303, cadre_main=200, cadre_east=200, admin=200)
NOTICE_OF_MAIN = expect(403, anonymous=303, cadre_main=200, cadre_east=404, admin=200)
# An empty form: notify answers a cadre 422 (no campus, no title), and the page shows the
# form again with its words; finance and auditors are no cadres (notify's 403).
NOTICE_FORM = expect(403, anonymous=403, cadre_main=422, cadre_east=422, admin=422)
NOTICE_ROWS: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/admin/notices"): (nothing, NOTICE_CADRES),
    ("POST", "/admin/notices/preview"): (nothing, NOTICE_FORM),
    ("POST", "/admin/notices"): (nothing, NOTICE_FORM),
    ("GET", "/admin/notices/{announcement_id}"): (announcement, NOTICE_OF_MAIN),
    ("GET", "/admin/notices/{announcement_id}/stats"): (announcement, NOTICE_OF_MAIN),
}
ROWS.update(NOTICE_ROWS)


# -- failed deliveries and templates (notify-desk): notify decides; web shows its answer ------


async def failed_delivery(site: Site) -> dict[str, str]:
    """A delivery of main that failed its last attempt, as notify's worker leaves one."""
    event_id = f"e-web-{uuid.uuid4().hex[:8]}"
    key = f"{event_id}:{site.me}:wecom"
    doc = {
        "_id": key,
        "event_id": event_id,
        "event_type": "members.member.approved.v1",
        "template": "welcome",
        "category": "membership",
        "mandatory": False,
        "member_id": site.me,
        "campus": "main",
        "variables": {"name": "网页目标"},
        "sealed": None,
        "tries": 5,
        "failures": 5,
        "last_error": "ChannelRefused: 企业微信账号不存在",
        "created_at": utcnow(),
        "status": "failed",
        "channel": "wecom",
        "next_at": None,
    }
    assert await site.stack.notify.context.deliveries.add_many([doc])
    return {"delivery_id": key, "key": "welcome", "campus": "main"}


async def a_template(site: Site) -> dict[str, str]:
    return {"key": "welcome", "campus": "main"}


NOTIFY_DESK: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/admin/deliveries"): (nothing, NOTICE_CADRES),
    # notify answers a cadre of another campus 404 (not theirs), finance and auditors 403.
    ("POST", "/admin/deliveries/{delivery_id}/retry"): (
        failed_delivery,
        expect(403, anonymous=403, cadre_main=303, cadre_east=404, admin=303),
    ),
    ("GET", "/admin/templates"): (nothing, NOTICE_CADRES),
    ("GET", "/admin/templates/{key}"): (a_template, NOTICE_CADRES),
    # An empty form: notify refuses the wording (422) and the page shows it with the form.
    ("POST", "/admin/templates/{key}/preview"): (a_template, NOTICE_FORM),
    ("POST", "/admin/templates/{key}/save"): (a_template, NOTICE_FORM),
    ("POST", "/admin/templates/{key}/campuses/{campus}/reset"): (a_template, ADMIN_POST),
}
ROWS.update(NOTIFY_DESK)
# -- WeCom sign-in (wecom-signin): public; this site has it off, so every caller gets the
# 未开通 page (the flow with it on: test_wecom_web.py) -------------------------------------
WECOM_SIGNIN: dict[tuple[str, str], tuple[Target, dict[str, int]]] = {
    ("GET", "/login/wecom"): (nothing, expect(404, anonymous=404)),
    ("GET", "/login/wecom/callback"): (nothing, expect(404, anonymous=404)),
}
ROWS.update(WECOM_SIGNIN)


def web_routes(app) -> set[tuple[str, str]]:
    """(METHOD, path) of every page route, walking included routers (web has no OpenAPI)."""

    def walk(routes, prefix: str = ""):
        for route in routes:
            if type(route).__name__ == "_IncludedRouter":  # FastAPI's lazily included router
                inner = getattr(route.include_context, "prefix", "") or ""
                yield from walk(route.original_router.routes, prefix + inner)
            elif isinstance(route, APIRoute):
                for method in route.methods or ():
                    yield method, prefix + route.path

    return set(walk(app.routes))


def test_every_page_has_a_row():
    settings = WebSettings(env="test")
    routes = web_routes(web_bootstrap(settings, configure_logs=False))
    assert routes, "no page routes found"
    assert not sorted(routes - ROWS.keys()), f"pages without a row: {sorted(routes - ROWS.keys())}"
    assert not sorted(ROWS.keys() - routes), "rows for pages that no longer exist"


@pytest.mark.parametrize("route", sorted(ROWS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_the_matrix(site: Site, route: tuple[str, str]):
    method, template = route
    target_of, expected = ROWS[route]
    await sign_in_everyone(site)
    shared = await target_of(site)
    got: dict[str, int] = {}
    for persona in PERSONAS:
        target = shared if method == "GET" else await target_of(site)
        session = site.cookies.get(persona)
        headers = {"X-CSRF-Token": session[1]} if session else {}
        site.web.cookies.clear()  # one browser per persona: nothing carried over
        if session:
            site.web.cookies.set("gh_session", session[0])
        response = await site.web.request(
            method,
            template.format(**target),
            data={} if method == "POST" else None,
            headers=headers,
        )
        got[persona] = response.status_code
    assert got == expected, f"web {method} {template}: {as_row(got)}"


async def test_a_members_history_reads_in_words(site: Site):
    """The audit trail on a member's page names what was done and which fields changed in
    Chinese (the published labels), never the action codes or field names of the API."""
    target = await enrol(site.stack)
    await _ok(
        await site.stack.members_http.post(f"/members/{target}/retire", headers=ADMIN, json={})
    )
    await sign_in_everyone(site)
    session, _ = site.cookies["admin"]
    site.web.cookies.clear()
    site.web.cookies.set("gh_session", session)
    page = (await site.web.get(f"/admin/members/{target}")).text
    trail = page[page.index("变更记录") :]
    assert "登记退休" in trail and "会籍状态" in trail
    assert ">retire<" not in trail and "status" not in trail


async def page_as(site: Site, persona: str, url: str) -> httpx.Response:
    """A page as the persona's browser gets it (after `sign_in_everyone`)."""
    session, _ = site.cookies[persona]
    site.web.cookies.clear()
    site.web.cookies.set("gh_session", session)
    return await site.web.get(url)


FINANCE = bearer("finance-main", ["finance"], ["main"])
LEDGER_ROW = re.compile(r'<tr id="entry-(\d+)">\s*<td>\d+</td><td>[^<]*</td><td>([^<（]+)')


async def test_the_ledger_filters_by_each_type_of_entry(site: Site):
    """Each option of the ledger's 类型 filter shows that kind of entry only — the budget's
    two (预算批准, 预算调整) included, which the welfare API names its own way."""
    http, year = site.stack.welfare_http, 2096  # a year of its own: no other row posts to it
    base = f"/funds/budgets/main/{year}"
    budget = {"lines": {"spend_activity_festival": 500_000}, "note": "网页台账筛选"}
    await _ok(await http.post(base, json=budget, headers=ADMIN))
    change = {
        "line": "spend_activity_festival",
        "change_fen": 10_000,
        "reason": "追加",
        "idempotency_key": f"web-amend-{uuid.uuid4().hex[:8]}",
    }
    await _ok(await http.post(f"{base}/amendments", json=change, headers=ADMIN))
    ledger = f"/funds/ledgers/main/{year}"
    for kind, line in (("income", "income_allocation"), ("payments", "spend_activity_festival")):
        posting = {
            "line": line,
            "amount_fen": 12_800,
            "cause": "网页台账筛选",
            "approved_by": "主席",
            "voucher_no": f"凭-{kind}",
            "occurred_on": f"{year}-03-01",
            "idempotency_key": f"web-{kind}-{uuid.uuid4().hex[:8]}",
        }
        await _ok(await http.post(f"{ledger}/{kind}", json=posting, headers=FINANCE))
    undo = {"reason": "记错", "occurred_on": f"{year}-03-02"}
    await _ok(await http.post(f"{ledger}/entries/4/reversal", json=undo, headers=FINANCE))
    await sign_in_everyone(site)

    async def rows(kind: str) -> list[tuple[int, str]]:
        url = f"/admin/funds/ledger?campus=main&year={year}&kind={kind}"
        response = await page_as(site, "auditor", url)
        assert response.status_code == 200, f"kind={kind}: {response.status_code}"
        return [(int(seq), label.strip()) for seq, label in LEDGER_ROW.findall(response.text)]

    assert [seq for seq, _ in await rows("")] == [1, 2, 3, 4, 5]
    assert await rows("budget") == [(1, "预算批准")]
    assert await rows("amendment") == [(2, "预算调整")]
    assert await rows("income") == [(3, "收入")]
    assert await rows("payment") == [(4, "支出")]
    assert await rows("reversal") == [(5, "冲正")]


def figures_of(page: str, row_id: str) -> list[str]:
    """The figures of one row of a page's table (the cells after the row's heading)."""
    found = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return re.findall(r'<td class="num">([^<]*)</td>', found.group(1))


async def test_the_summary_gives_each_line_by_month_for_a_campus_and_all_added_up(site: Site):
    """收支汇总: main's festival line in March, April and May (a payment reversed in May
    counts there, negative) and east's April payment, each on its own campus; added up for
    the chair; the auditor of main reads main's and its download, not east's; a member is
    refused."""
    http, year = site.stack.welfare_http, 2095  # a year of its own: no other row posts to it
    festival = "spend_activity_festival"
    for campus, budget in (("main", 500_000), ("east", 300_000)):
        adopted = {"lines": {festival: budget}, "note": "网页收支汇总"}
        await _ok(await http.post(f"/funds/budgets/{campus}/{year}", json=adopted, headers=ADMIN))
    postings = (
        ("main", festival, "payments", 12_800, "03-01"),
        ("main", "income_allocation", "income", 100_000, "03-10"),
        ("main", festival, "payments", 30_000, "04-15"),
        ("east", festival, "payments", 7_000, "04-20"),
    )
    for campus, line, kind, fen, day in postings:
        body = {
            "line": line,
            "amount_fen": fen,
            "cause": "网页收支汇总",
            "approved_by": "主席",
            "voucher_no": f"凭-{day}",
            "occurred_on": f"{year}-{day}",
            "idempotency_key": f"web-sum-{uuid.uuid4().hex[:8]}",
        }
        url = f"/funds/ledgers/{campus}/{year}/{kind}"
        await _ok(await http.post(url, json=body, headers=ADMIN))
    undo = {"reason": "重复报销", "occurred_on": f"{year}-05-02"}  # main's March payment
    url = f"/funds/ledgers/main/{year}/entries/2/reversal"
    await _ok(await http.post(url, json=undo, headers=ADMIN))
    await sign_in_everyone(site)
    months = slice(1, 13)  # the cells: budget, 1月 … 12月, total, remaining, use

    mine = await page_as(site, "auditor", f"/admin/funds/summary?campus=main&year={year}")
    assert mine.status_code == 200, mine.text
    row = figures_of(mine.text, f"line-{festival}")
    assert row[0] == "5000.00" and row[13:] == ["300.00", "4700.00", "6.0%"]
    assert row[months][2:5] == ["128.00", "300.00", "-128.00"]
    assert figures_of(mine.text, "line-income_allocation")[2] == "1000.00"  # March
    main = mine.text[mine.text.index('<main class="page wide"') :]
    assert 'method="post"' not in main  # the auditor reads; nothing here changes anything
    east = await page_as(site, "auditor", f"/admin/funds/summary?campus=east&year={year}")
    assert east.status_code == 403

    everyone = await page_as(site, "admin", f"/admin/funds/summary?campus=*&year={year}")
    assert everyone.status_code == 200, everyone.text
    row = figures_of(everyone.text, f"line-{festival}")
    # April is main's 300.00 and east's 70.00; the budget both campuses'.
    assert row[0] == "8000.00" and row[13:] == ["370.00", "7630.00", "4.6%"]
    assert row[months][2:5] == ["128.00", "370.00", "-128.00"]
    assert figures_of(everyone.text, "campus-east")[:2] == ["3000.00", "70.00"]
    assert figures_of(everyone.text, "campus-main")[:2] == ["5000.00", "300.00"]
    assert figures_of(everyone.text, "campus-all")[:2] == ["8000.00", "370.00"]

    download = await page_as(site, "auditor", f"/admin/funds/summary.csv?campus=main&year={year}")
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    mains = next(r for r in table[1:] if r[1] == festival)
    assert mains[0] == "main校区" and mains[4] == "5000.00"  # the budget, then 1月 …
    assert mains[5:10] == ["0.00", "0.00", "128.00", "300.00", "-128.00"]
    assert {r[0] for r in table[1:]} == {"main校区"}  # main's only
    book = await page_as(site, "admin", f"/admin/funds/summary.xlsx?campus=*&year={year}")
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None
    rows = sheet.iter_rows(values_only=True)
    added = next(r for r in rows if r[0] == "全部校区合计" and r[1] == festival)
    assert added[8] == 370.0 and added[-3] == 370.0  # April, and the year
    assert (await page_as(site, "member", f"/admin/funds/summary?year={year}")).status_code == 403


def festival_plan(year: int, title: str) -> dict:
    return {
        "title": title,
        "festival": "mid_autumn",
        "year": year,
        "campuses": ["main"],
        "standard_fen": 100,
        "options": [{"code": "mooncake", "name": "月饼", "price_fen": 100, "form": "food"}],
        "reference_date": f"{year}-01-01",
        "deadline": f"{year}-09-01T00:00:00+08:00",
        "default_option": "mooncake",
    }


POST_FORMS = re.compile(r'<form method="post" action="([^"]+)"')


async def test_the_welfare_desk_shows_the_buttons_that_change_things_only_to_a_cadre(site: Site):
    """The welfare desk of a year with an approved plan, and last year's plan to copy: a cadre
    gets 发布 and 复制; finance and the auditor read it with no button that changes anything
    (the welfare service would refuse them: publishing and copying are a cadre's)."""
    http = site.stack.welfare_http
    last = await _ok(
        await http.post("/welfare/plans", json=festival_plan(2097, "去年中秋"), headers=ADMIN)
    )
    plan = await _ok(
        await http.post("/welfare/plans", json=festival_plan(2098, "今年中秋"), headers=ADMIN)
    )
    await _ok(await http.post(f"/welfare/plans/{plan['id']}/approval", headers=ADMIN))

    async def listed() -> bool:  # the plans' list is a view: it follows within a second
        found: dict[str, str] = {}
        for year in (2097, 2098):
            page = await _ok(await http.get("/welfare/plans", params={"year": year}, headers=ADMIN))
            found |= {p["id"]: p["status"] for p in page["items"]}
        return last["id"] in found and found.get(plan["id"]) == "approved"

    await wait_until(listed, 30, "both plans in the list, this year's approved")
    publish = f"/admin/welfare/{plan['id']}/publication"
    copy = f"/admin/welfare/{last['id']}/copy"
    await sign_in_everyone(site)
    for persona in ("auditor", "finance"):
        page = await page_as(site, persona, "/admin/welfare?year=2098")
        assert page.status_code == 200 and "今年中秋" in page.text, persona
        assert POST_FORMS.findall(page.text) == ["/logout"], persona
    page = await page_as(site, "cadre_main", "/admin/welfare?year=2098")
    assert page.status_code == 200
    forms = POST_FORMS.findall(page.text)
    assert publish in forms and copy in forms and "/admin/welfare/new" in forms


async def in_publicity(site: Site, start: date, until: date) -> str:
    """A campaign of main with `other` listed, its publicity from `start` to `until`."""
    http = site.stack.events_http
    made = (await campaign(site))["campaign_id"]
    url = f"/commendations/{made}"
    nominee = {"category_id": "c1", "member_id": site.other, "reasons": "爱岗敬业"}
    nominated = await _ok(await http.post(f"{url}/nominations", json=nominee, headers=ADMIN))
    await shortlisted_and_voting(http, url, nominated["id"])
    dates = {"publicity_from": start.isoformat(), "publicity_until": until.isoformat()}
    await _ok(await http.post(f"{url}/phase", json={"to": "publicity", **dates}, headers=ADMIN))
    return made


async def test_the_objection_form_shows_only_within_the_publicity_dates(site: Site):
    """Events takes objections only from the publicity's first day to its last (Beijing
    dates): before and after them the member's page lists the candidate with a line saying
    when objections open or that they closed, and no form the service would refuse."""
    today = local_today()
    day = timedelta(days=1)
    ahead, running, over = await asyncio.gather(
        in_publicity(site, today + day, today + 3 * day),
        in_publicity(site, today, today),
        in_publicity(site, today - 3 * day, today - day),
    )
    await sign_in_everyone(site)
    pages = {}
    for name, made in (("ahead", ahead), ("running", running), ("over", over)):
        response = await page_as(site, "member", f"/m/commendations/{made}")
        assert response.status_code == 200, f"{name}: {response.status_code}"
        assert "<strong>网页目标</strong>" in response.text, f"{name}: the listed candidate"
        pages[name] = response.text
    objecting = f'action="/m/commendations/{running}/object"'
    assert objecting in pages["running"] and "对该人选提出异议" in pages["running"]
    for name in ("ahead", "over"):
        assert "/object" not in pages[name] and "对该人选提出异议" not in pages[name], name
    assert "公示开始后可提出异议" in pages["ahead"]
    opens = today + day
    assert f"公示期：{opens.year}年{opens.month}月{opens.day}日 至" in pages["ahead"]
    assert "已结束，不再受理异议" in pages["over"]


async def test_a_member_nominates_a_colleague_by_staff_number_on_the_phone(site: Site):
    """The phone's form asks for the colleague's 工号 (what colleagues know of each other, not
    the member id); typed full width and in lower case it still finds them, and a number
    nobody has is said on the page."""
    made = (await campaign(site))["campaign_id"]
    directory = site.stack.events.db[MEMBER_DIRECTORY]
    staff_no = (await directory.find_one({"_id": site.other}))["staff_no"]
    typed = "".join(chr(ord(c) + 0xFEE0) for c in staff_no.lower())
    await sign_in_everyone(site)
    page = await page_as(site, "member", f"/m/commendations/{made}")
    assert 'name="staff_no"' in page.text and "填写对方工号" in page.text
    _, csrf = site.cookies["member"]  # page_as left the member's session cookie set
    form = {"category_id": "c1", "staff_no": typed, "reasons": "爱岗敬业，教书育人"}
    sent = await site.web.post(
        f"/m/commendations/{made}/nominate", data=form, headers={"X-CSRF-Token": csrf}
    )
    assert sent.status_code == 303, sent.text
    listed = await _ok(
        await site.stack.events_http.get(f"/commendations/{made}/nominations", headers=ADMIN)
    )
    assert [(n["member_id"], n["by_kind"]) for n in listed] == [(site.other, "member")]
    unknown = {**form, "staff_no": "Z9999999"}
    refused = await site.web.post(
        f"/m/commendations/{made}/nominate", data=unknown, headers={"X-CSRF-Token": csrf}
    )
    assert refused.status_code == 422 and "未找到工号为「Z9999999」的会员" in refused.text


async def test_a_case_page_offers_each_person_only_the_steps_they_may_take(site: Site):
    """Approving, declining and cancelling are the chair's, paying is finance's: the case page
    leaves out the buttons the welfare service would refuse, so the auditor, who now reads
    cases to trace the ledger's payments, sees none that changes anything."""
    case_id = (await care_case(site))["case_id"]
    await sign_in_everyone(site)
    url = f"/admin/care/cases/{case_id}"
    steps = {s: f"{url}/{s}" for s in ("approve", "decline", "cancel", "pay")}
    auditor = await page_as(site, "auditor", url)
    assert auditor.status_code == 200 and "住院" in auditor.text
    assert POST_FORMS.findall(auditor.text) == ["/logout"]
    listing = await page_as(site, "auditor", "/admin/care")
    assert "/admin/care/cases" not in POST_FORMS.findall(listing.text)  # no 登记 either
    chair = POST_FORMS.findall((await page_as(site, "admin", url)).text)
    assert {steps["approve"], steps["decline"], steps["cancel"]} <= set(chair)
    assert steps["pay"] not in chair  # not approved yet: nothing to pay
    cadre = await page_as(site, "cadre_main", url)
    assert not set(steps.values()) & set(POST_FORMS.findall(cadre.text))
    assert "待主席审批" in cadre.text

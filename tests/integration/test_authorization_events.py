"""Who may call what on events, notify and welfare: one row per route of each app (read from
its OpenAPI, so a new route without a row fails), the enforced status for every persona
(tests/integration/personas.py).

Each persona calls a target of its own when the route writes (a fresh activity, plan, meet
or registration in the state the row names), so one persona's success never changes what
the next one meets; reads share one target. Targets live on main unless the row says so;
`east` rows put the target on another campus than the main cadre's.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.events.bootstrap import bootstrap as events_bootstrap
from services.events.calendar.domain import feed_token
from services.notify.bootstrap import bootstrap as notify_bootstrap
from services.welfare.birthdays.handlers import offer_month
from services.welfare.bootstrap import bootstrap as welfare_bootstrap
from shared.aggregate import Actor
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import local_today
from tests.integration.conftest import Stack, bearer, build_stack, close_stack
from tests.integration.events_kit import later, shortlisted_and_voting
from tests.integration.personas import (
    LEADER,
    OTHER,
    PERSONAS,
    PUBLIC,
    RUN,
    SELF,
    as_row,
    expect,
    headers,
    routes_of,
)

pytestmark = pytest.mark.integration

CADRE = {
    "main": bearer("cadre-1", ["cadre"], ["main"]),
    "east": bearer("cadre-e", ["cadre"], ["east"]),
}
ADMIN = bearer("admin-1", ["admin"], ["*"])
_YEARS = itertools.count(2040)


@pytest.fixture(scope="module")
async def stack(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra, ["events", "notify", "welfare"])
    directory = s.events.db[MEMBER_DIRECTORY]
    await directory.insert_many(
        [
            {
                "_id": member_id,
                "staff_no": f"AZ{RUN}{i}",
                "name": name,
                "campus": "main",
                "department": "艺术系",
                "gender": "female",
                "status": "active",
                "roles": roles,
                "sequence": "0000000001.000",
            }
            for i, (member_id, name, roles) in enumerate(
                [(SELF, "目标", []), (OTHER, "同事", []), (LEADER, "组长", ["group_leader"])]
            )
        ]
    )
    try:
        yield s
    finally:
        await close_stack(s)


# -- targets ----------------------------------------------------------------------------------


async def _ok(response, status: int = 200) -> dict:
    assert response.status_code in (status, 201, 200), response.text
    return response.json()


async def activity(stack: Stack, campus: str = "main", publish: bool = True, **over) -> dict:
    body = {
        "kind": "lecture",
        "title": "权限矩阵讲座",
        "campus": campus,
        "venue": "报告厅",
        "starts_at": later(7),
        "ends_at": later(7, 2),
        "capacity": 50,
        **over,
    }
    http = stack.events_http
    made = await _ok(await http.post("/activities", json=body, headers=CADRE[campus]), 201)
    if publish:
        url = f"/activities/{made['id']}/publish"
        made = await _ok(await http.post(url, headers=CADRE[campus]))
    return made


async def registered(stack: Stack, campus: str = "main") -> dict[str, str]:
    made = await activity(stack, campus)
    url = f"/activities/{made['id']}/registrations"
    reg = await _ok(await stack.events_http.post(url, json={"member_id": SELF}, headers=ADMIN), 201)
    return {"activity_id": made["id"], "member_id": SELF, "code": reg["code"]}


_PLANS: dict[str, str] = {}  # campus -> the plan every item target goes into
_COPY_YEARS = itertools.count(2001, 2)  # a copy makes the next year's plan: keep it free
_NEW_YEARS = itertools.count(2051, 2)


async def plan(stack: Stack, campus: str = "main", year: int | None = None) -> dict[str, str]:
    """A fresh item of a plan of `campus` (one shared plan, or a new one for `year`)."""
    http = stack.events_http
    if year is not None or campus not in _PLANS:
        body = {"year": year or 2099, "campus": campus}
        made = await _ok(await http.post("/plans", json=body, headers=ADMIN), 201)
        if year is None:
            _PLANS[campus] = made["id"]
        plan_id = made["id"]
    else:
        plan_id = _PLANS[campus]
    item = {"month_from": 1, "title": "元旦慰问", "owner": "工会办公室"}
    added = await _ok(await http.post(f"/plans/{plan_id}/items", json=item, headers=ADMIN), 201)
    return {"plan_id": plan_id, "item_id": added["id"]}


async def plan_to_copy(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await plan(stack, campus, year=next(_COPY_YEARS))


async def plan_link(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await plan(stack, campus)
    linked = await activity(stack, campus)
    url = f"/plans/{found['plan_id']}/items/{found['item_id']}/links"
    link = {"kind": "activity", "id": linked["id"]}
    await _ok(await stack.events_http.post(url, json=link, headers=ADMIN))
    return {**found, "kind": "activity", "link_id": linked["id"], "activity_id": linked["id"]}


async def meet(stack: Stack, campus: str = "main", set_up: bool = True) -> dict[str, str]:
    made = await activity(stack, campus, kind="sports_meet", title="趣味运动会")
    if set_up:
        body = {"max_entries": 2, "items": [{"name": "托球跑"}]}
        url = f"/activities/{made['id']}/meet"
        await _ok(await stack.events_http.post(url, json=body, headers=ADMIN), 201)
    return {"activity_id": made["id"], "item_id": "e1", "member_id": SELF}


async def meet_entry(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await meet(stack, campus)
    url = f"/activities/{found['activity_id']}/meet/items/e1/entries"
    await _ok(await stack.events_http.post(url, json={"member_id": SELF}, headers=ADMIN), 201)
    return found


async def draft(stack: Stack, campus: str = "main") -> dict[str, str]:
    return {"activity_id": (await activity(stack, campus, publish=False))["id"]}


async def published(stack: Stack, campus: str = "main") -> dict[str, str]:
    return {"activity_id": (await activity(stack, campus))["id"]}


async def bare_meet(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await meet(stack, campus, set_up=False)


async def feed(stack: Stack, campus: str = "main") -> dict[str, str]:
    secret = stack.events.settings.calendar_secret.encode()
    return {"campus": campus, "token": feed_token(secret, campus)}


async def notice(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A message in SELF's inbox, put there as notify puts every notice."""
    from services.notify.notices.domain import Notice
    from services.notify.notices.store import Inbox

    made = Notice(f"n-authz-{RUN}-{next(_YEARS)}", SELF, "main", "welcome", "通知", "内容")
    assert await Inbox(stack.notify.db).put(made)
    return {"notice_id": made.id}


async def nothing(stack: Stack, campus: str = "main") -> dict[str, str]:
    return {"campus": campus}


Target = Callable[[Stack, str], Awaitable[dict[str, str]]]


@dataclass(frozen=True)
class Row:
    target: Target
    expected: dict[str, int]
    body: Callable[[dict[str, str]], Any] | None = None
    campus: str = "main"
    query: dict[str, str] = field(default_factory=dict)
    files: Callable[[dict[str, str]], dict] | None = None  # a multipart upload instead


def _activity_body(_: dict) -> dict:
    return {
        "kind": "lecture",
        "title": "新讲座",
        "campus": "main",
        "venue": "报告厅",
        "starts_at": later(9),
        "ends_at": later(9, 1),
    }


ANYONE_SIGNED_IN = expect(200)


def of_main(status: int = 200, **more: int) -> dict[str, int]:
    """A cadre of main (and admin) gets `status`; another campus's cadre does not see main's
    activities and plans at all (404); everyone else is refused."""
    return expect(403, **{"cadre_main": status, "cadre_east": 404, "admin": status, **more})


CADRE_OF_MAIN = of_main()
ALL_BUT_OTHER_CAMPUSES = expect(200, cadre_east=404)
SIGN_UP = {"member_id": SELF}

EVENTS: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(nothing, PUBLIC),
    ("GET", "/readyz"): Row(nothing, PUBLIC),
    ("GET", "/metrics"): Row(nothing, PUBLIC),
    # -- activities --
    ("POST", "/activities"): Row(nothing, of_main(201, cadre_east=403), body=_activity_body),
    ("GET", "/activities"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/activities/{activity_id}"): Row(published, ALL_BUT_OTHER_CAMPUSES),
    ("PATCH", "/activities/{activity_id}"): Row(
        draft, CADRE_OF_MAIN, body=lambda _: {"title": "改"}
    ),
    ("POST", "/activities/{activity_id}/publish"): Row(draft, CADRE_OF_MAIN),
    ("POST", "/activities/{activity_id}/close"): Row(published, CADRE_OF_MAIN),
    # Not over yet: those allowed reach the rule (409), the others never do.
    ("POST", "/activities/{activity_id}/complete"): Row(published, of_main(409)),
    ("POST", "/activities/{activity_id}/cancel"): Row(
        published, CADRE_OF_MAIN, body=lambda _: {"reason": "天气"}
    ),
    ("GET", "/activities/{activity_id}/history"): Row(published, CADRE_OF_MAIN),
    # -- registrations (SELF is the member: signs up, reads, cancels their own) --
    ("POST", "/activities/{activity_id}/registrations"): Row(
        published, of_main(201, member=201), body=lambda _: SIGN_UP
    ),
    ("GET", "/activities/{activity_id}/registrations"): Row(registered, CADRE_OF_MAIN),
    ("GET", "/activities/{activity_id}/registrations/{member_id}"): Row(
        registered, of_main(member=200)
    ),
    ("POST", "/activities/{activity_id}/registrations/{member_id}/cancel"): Row(
        registered, of_main(member=200)
    ),
    # Only members answer "may I come": a token whose subject is no member is not found.
    ("GET", "/activities/{activity_id}/eligibility"): Row(
        published, expect(404, member=200, other_member=200, group_leader=200, system=403)
    ),
    ("GET", "/activities/{activity_id}/registrations/{member_id}/qr.png"): Row(
        registered, of_main(member=200)
    ),
    ("GET", "/activities/{activity_id}/registrations/{member_id}/qr.svg"): Row(
        registered, of_main(member=200)
    ),
    ("GET", "/me/registrations"): Row(nothing, ANYONE_SIGNED_IN),
    # -- check-in --
    ("POST", "/activities/{activity_id}/checkins"): Row(
        registered, CADRE_OF_MAIN, body=lambda t: {"code": t["code"]}
    ),
    ("POST", "/activities/{activity_id}/walkins"): Row(
        published, CADRE_OF_MAIN, body=lambda _: {"member": SELF}
    ),
    ("GET", "/activities/{activity_id}/attendance"): Row(registered, CADRE_OF_MAIN),
    ("GET", "/attendance"): Row(nothing, expect(403, cadre_main=200, cadre_east=200, admin=200)),
    ("GET", "/activities/{activity_id}/registrations.csv"): Row(registered, CADRE_OF_MAIN),
    # -- the annual plan --
    ("GET", "/plans"): Row(nothing, ANYONE_SIGNED_IN),
    ("POST", "/plans"): Row(
        nothing,
        of_main(201, cadre_east=403),
        body=lambda _: {"year": next(_NEW_YEARS), "campus": "main"},
    ),
    # Loaded once: the first allowed caller (the chair) gets 201, the next 200.
    ("POST", "/plans/source/{year}"): Row(
        nothing, expect(403, admin=200, chair=201), query={"year": "2023"}
    ),
    ("GET", "/plans/{plan_id}"): Row(plan, ALL_BUT_OTHER_CAMPUSES),
    ("POST", "/plans/{plan_id}/copy"): Row(plan_to_copy, of_main(201)),
    ("POST", "/plans/{plan_id}/items"): Row(
        plan, of_main(201), body=lambda _: {"month_from": 2, "title": "春游", "owner": "工会"}
    ),
    ("PATCH", "/plans/{plan_id}/items/{item_id}"): Row(
        plan, CADRE_OF_MAIN, body=lambda _: {"title": "改"}
    ),
    ("POST", "/plans/{plan_id}/items/{item_id}/status"): Row(
        plan, CADRE_OF_MAIN, body=lambda _: {"status": "done"}
    ),
    ("POST", "/plans/{plan_id}/items/{item_id}/links"): Row(
        plan_link, CADRE_OF_MAIN, body=lambda t: {"kind": "activity", "id": t["link_id"]}
    ),
    ("DELETE", "/plans/{plan_id}/items/{item_id}/links/{kind}/{link_id}"): Row(
        plan_link, CADRE_OF_MAIN
    ),
    # -- the sports meet --
    ("POST", "/activities/{activity_id}/meet"): Row(
        bare_meet, of_main(201), body=lambda _: {"max_entries": 2, "items": [{"name": "跳绳"}]}
    ),
    ("GET", "/activities/{activity_id}/meet"): Row(meet, ALL_BUT_OTHER_CAMPUSES),
    ("PATCH", "/activities/{activity_id}/meet"): Row(
        meet, CADRE_OF_MAIN, body=lambda _: {"max_entries": 3}
    ),
    ("POST", "/activities/{activity_id}/meet/items"): Row(
        meet, of_main(201), body=lambda _: {"name": "袋鼠跳"}
    ),
    ("POST", "/activities/{activity_id}/meet/items/{item_id}/entries"): Row(
        meet, of_main(201, member=201), body=lambda _: SIGN_UP
    ),
    ("GET", "/activities/{activity_id}/meet/items/{item_id}/entries"): Row(
        meet_entry, CADRE_OF_MAIN
    ),
    ("DELETE", "/activities/{activity_id}/meet/items/{item_id}/entries/{member_id}"): Row(
        meet_entry, of_main(204, member=204)
    ),
    ("PUT", "/activities/{activity_id}/meet/items/{item_id}/results"): Row(
        meet_entry,
        CADRE_OF_MAIN,
        body=lambda _: {"results": [{"member_id": SELF, "value": 12.5}]},
    ),
    # No results published yet: those allowed reach the rule (409).
    ("POST", "/activities/{activity_id}/meet/publish"): Row(meet_entry, of_main(409)),
    # -- the calendar feed: the token in the address is the credential --
    ("GET", "/calendar/{campus}/{token}.ics"): Row(feed, PUBLIC),
    # A campus is no secret: another campus's cadre is refused, not told "not found".
    ("GET", "/calendar/{campus}/feed"): Row(feed, expect(403, cadre_main=200, admin=200)),
}

# -- voice: commendations (issue 16) ----------------------------------------------------------


async def campaign(stack: Stack, campus: str = "main", to: str = "nominating") -> dict[str, str]:
    """A fresh campaign of `campus` with OTHER nominated in c1, moved on to phase `to`
    (voting: OTHER shortlisted; publicity: also listed, with SELF's objection)."""
    http = stack.events_http
    body = {
        "title": "权限矩阵评选",
        "year": 2026,
        "campus": campus,
        "categories": [
            {"name": "师德标兵", "quotas": [{"campus": campus, "count": 2}], "votes_per_voter": 2}
        ],
    }
    made = await _ok(await http.post("/commendations", json=body, headers=ADMIN), 201)
    url = f"/commendations/{made['id']}"
    nominee = {"category_id": "c1", "member_id": OTHER, "reasons": "爱岗敬业"}
    nominated = await _ok(await http.post(f"{url}/nominations", json=nominee, headers=ADMIN), 201)
    found = {"campaign_id": made["id"], "nomination_id": nominated["id"], "category_id": "c1"}
    if to == "nominating":
        return found
    await shortlisted_and_voting(http, url, nominated["id"])
    if to == "voting":
        return found
    from shared.timeutil import local_today

    today = local_today().isoformat()
    publicity = {"to": "publicity", "publicity_from": today, "publicity_until": today}
    await _ok(await http.post(f"{url}/phase", json=publicity, headers=ADMIN))
    objection = {"nomination_id": nominated["id"], "reason": "异议"}
    raised = await _ok(
        await http.post(f"{url}/objections", json=objection, headers=headers("member")), 201
    )
    return {**found, "objection_id": raised["id"]}


async def campaign_voting(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await campaign(stack, campus, "voting")


async def campaign_publicity(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await campaign(stack, campus, "publicity")


def _campaign_body(_: dict) -> dict:
    return {
        "title": "新评选",
        "year": 2026,
        "campus": "main",
        "categories": [{"name": "岗位能手", "quotas": [{"campus": "main", "count": 1}]}],
    }


# Voters and objectors are members the directory knows (SELF, OTHER, LEADER); a token of
# nobody in it is refused as no member (403), like a system token.
MEMBERS_OF_MAIN = {"member": 200, "other_member": 200, "group_leader": 200}
COMMENDATIONS: dict[tuple[str, str], Row] = {
    ("POST", "/commendations"): Row(nothing, of_main(201, cadre_east=403), body=_campaign_body),
    ("GET", "/commendations"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/commendations/{campaign_id}"): Row(campaign, ALL_BUT_OTHER_CAMPUSES),
    ("POST", "/commendations/{campaign_id}/phase"): Row(
        campaign, CADRE_OF_MAIN, body=lambda _: {"to": "reviewing"}
    ),
    ("POST", "/commendations/{campaign_id}/nominations"): Row(
        campaign,
        expect(201, cadre_east=404, system=403),
        body=lambda _: {"category_id": "c1", "member_id": SELF, "reasons": "推荐"},
    ),
    ("GET", "/commendations/{campaign_id}/nominations"): Row(campaign, CADRE_OF_MAIN),
    ("POST", "/commendations/{campaign_id}/nominations/{nomination_id}/review"): Row(
        campaign, CADRE_OF_MAIN, body=lambda _: {"decision": "shortlisted"}
    ),
    ("POST", "/commendations/{campaign_id}/categories/{category_id}/votes"): Row(
        campaign_voting,
        expect(403, cadre_east=404, **MEMBERS_OF_MAIN),
        body=lambda t: {"candidates": [t["nomination_id"]]},
    ),
    ("POST", "/commendations/{campaign_id}/objections"): Row(
        campaign_publicity,
        expect(403, cadre_east=404, **{k: 201 for k in MEMBERS_OF_MAIN}),
        body=lambda t: {"nomination_id": t["nomination_id"], "reason": "异议"},
    ),
    ("GET", "/commendations/{campaign_id}/objections"): Row(
        campaign_publicity, ALL_BUT_OTHER_CAMPUSES
    ),
    ("POST", "/commendations/{campaign_id}/objections/{objection_id}/resolve"): Row(
        campaign_publicity, CADRE_OF_MAIN, body=lambda _: {"upheld": False, "answer": "不成立"}
    ),
    ("GET", "/commendations/{campaign_id}/recommendation.xlsx"): Row(campaign, CADRE_OF_MAIN),
}


# -- voice: the staff congress (issue 16) -----------------------------------------------------
# SELF, OTHER and LEADER are the session's representatives; LEADER heads main's delegation.
REPS_OF_MAIN = ("member", "other_member", "group_leader")
PROPOSAL_STEPS = ("draft", "signed", "submitted", "endorsed", "accepted", "assigned", "replied")


async def congress(stack: Stack, campus: str = "main", step: str = "") -> dict[str, str]:
    """A fresh session of `campus` with a resolution open, and (with `step`) SELF's proposal
    taken that far (`signed`: a draft with two co-signers; `rated`: the reply rated)."""
    http = stack.events_http
    body = {
        "title": "权限矩阵教代会",
        "year": 2026,
        "campus": campus,
        "cosign_min": 2,
        "proposals_until": later(1),
    }
    made = await _ok(await http.post("/congress/sessions", json=body, headers=ADMIN), 201)
    sid = made["id"]
    reps = {"member_ids": [SELF, OTHER, LEADER], "head": LEADER}
    await _ok(
        await http.post(f"/congress/sessions/{sid}/representatives", json=reps, headers=ADMIN)
    )
    resolution = {"title": "工作报告", "text": "全文"}
    rs = await _ok(
        await http.post(f"/congress/sessions/{sid}/resolutions", json=resolution, headers=ADMIN),
        201,
    )
    found = {"session_id": sid, "resolution_id": rs["id"]}
    if not step:
        return found
    proposal = {"title": "提案", "reasons": "理由", "measures": "措施", "department": "后勤处"}
    drafted = await _ok(
        await http.post(
            f"/congress/sessions/{sid}/proposals", json=proposal, headers=headers("member")
        ),
        201,
    )
    url = f"/congress/proposals/{drafted['id']}"
    found["proposal_id"] = drafted["id"]
    steps = [
        ("signed", f"{url}/cosign", None, "other_member"),
        ("signed", f"{url}/cosign", None, "group_leader"),
        ("submitted", f"{url}/submit", None, "member"),
        ("endorsed", f"{url}/endorse", None, "group_leader"),
        ("accepted", f"{url}/decision", {"decision": "accepted"}, "admin"),
        (
            "assigned",
            f"{url}/assignment",
            {"department": "后勤处", "due_on": "2099-01-01"},
            "admin",
        ),
        ("replied", f"{url}/reply", {"text": "已办理"}, "admin"),
        ("rated", f"{url}/rating", {"rating": "unsatisfied"}, "member"),
    ]
    wanted = [*PROPOSAL_STEPS, "rated"].index(step)
    for name, to, json_body, persona in steps:
        if [*PROPOSAL_STEPS, "rated"].index(name) > wanted:
            break
        await _ok(await http.post(to, json=json_body, headers=headers(persona)))
    return found


def _at(step: str) -> Target:
    async def target(stack: Stack, campus: str = "main") -> dict[str, str]:
        return await congress(stack, campus, step)

    return target


def reps_only(status: int) -> dict[str, int]:
    """Representatives get `status`; everyone else is refused (403), another campus does not
    see the session (404)."""
    return expect(403, cadre_east=404, **{p: status for p in REPS_OF_MAIN})


PROPOSER_ONLY = expect(403, member=200, cadre_east=404)
CONGRESS: dict[tuple[str, str], Row] = {
    ("POST", "/congress/sessions"): Row(
        nothing,
        of_main(201, cadre_east=403),
        body=lambda _: {
            "title": "新会议",
            "year": 2026,
            "campus": "main",
            "proposals_until": later(1),
        },
    ),
    ("GET", "/congress/sessions"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/congress/sessions/{session_id}"): Row(congress, ALL_BUT_OTHER_CAMPUSES),
    ("POST", "/congress/sessions/{session_id}/representatives"): Row(
        congress, CADRE_OF_MAIN, body=lambda _: {"member_ids": [SELF]}
    ),
    ("POST", "/congress/sessions/{session_id}/representatives/from-terms"): Row(
        congress, CADRE_OF_MAIN
    ),
    ("GET", "/congress/sessions/{session_id}/representatives"): Row(
        congress, ALL_BUT_OTHER_CAMPUSES
    ),
    ("POST", "/congress/sessions/{session_id}/proposals"): Row(
        congress,
        reps_only(201),
        body=lambda _: {"title": "提案", "reasons": "理由", "measures": "措施", "department": "处"},
    ),
    ("GET", "/congress/sessions/{session_id}/proposals"): Row(_at("draft"), ALL_BUT_OTHER_CAMPUSES),
    ("GET", "/congress/proposals/{proposal_id}"): Row(_at("draft"), ALL_BUT_OTHER_CAMPUSES),
    # SELF proposed it: their own co-signature is refused by the rule (409).
    ("POST", "/congress/proposals/{proposal_id}/cosign"): Row(
        _at("draft"), {**reps_only(200), "member": 409}
    ),
    ("POST", "/congress/proposals/{proposal_id}/submit"): Row(_at("signed"), PROPOSER_ONLY),
    ("POST", "/congress/proposals/{proposal_id}/endorse"): Row(
        _at("submitted"), expect(403, group_leader=200, cadre_east=404)
    ),
    ("POST", "/congress/proposals/{proposal_id}/decision"): Row(
        _at("endorsed"), CADRE_OF_MAIN, body=lambda _: {"decision": "accepted"}
    ),
    ("POST", "/congress/proposals/{proposal_id}/assignment"): Row(
        _at("accepted"),
        CADRE_OF_MAIN,
        body=lambda _: {"department": "后勤处", "due_on": "2099-01-01"},
    ),
    ("POST", "/congress/proposals/{proposal_id}/reply"): Row(
        _at("assigned"), CADRE_OF_MAIN, body=lambda _: {"text": "已办理"}
    ),
    ("POST", "/congress/proposals/{proposal_id}/rating"): Row(
        _at("replied"), PROPOSER_ONLY, body=lambda _: {"rating": "satisfied"}
    ),
    ("POST", "/congress/proposals/{proposal_id}/second-reply"): Row(_at("rated"), PROPOSER_ONLY),
    ("POST", "/congress/sessions/{session_id}/resolutions"): Row(
        congress, of_main(201), body=lambda _: {"title": "财务报告", "text": "全文"}
    ),
    ("POST", "/congress/resolutions/{resolution_id}/votes"): Row(
        congress, reps_only(200), body=lambda _: {"choice": "for"}
    ),
    ("POST", "/congress/resolutions/{resolution_id}/close"): Row(congress, CADRE_OF_MAIN),
}


# -- notify-core: inbox, settings, deliveries, templates -------------------------------------
_DELIVERIES = itertools.count(1)


async def failed_delivery(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A failed e-mail delivery on the campus, as the delivery worker leaves one."""
    from services.notify.delivery.store import Deliveries
    from shared.timeutil import utcnow

    key = f"e-authz-{RUN}-{next(_DELIVERIES)}:{SELF}:email"
    doc = {
        "_id": key,
        "event_id": "e-authz",
        "event_type": "events.registration.confirmed.v1",
        "template": "registration_confirmed",
        "category": "activity",
        "member_id": SELF,
        "campus": campus,
        "channel": "email",
        "variables": {},
        "status": "failed",
        "failures": 5,
        "tries": 5,
        "last_error": "SMTP refused",
        "created_at": utcnow(),
    }
    assert await Deliveries(stack.notify.db).add_many([doc])
    return {"delivery_id": key}


async def template_key(stack: Stack, campus: str = "main") -> dict[str, str]:
    return {"key": "registration_confirmed", "campus": campus}


def _settings_body(_: dict) -> dict:
    return {"channels": {"activity": ["inbox"]}, "quiet_hours": {"enabled": True}}


def _template_body(_: dict) -> dict:
    return {"title": "报名成功：{{ activity_title }}", "body": "{{ name }}，报名成功。"}


CADRES = expect(403, cadre_main=200, cadre_east=200, admin=200)

NOTIFY_CORE: dict[tuple[str, str], Row] = {
    ("GET", "/inbox/unread-count"): Row(nothing, ANYONE_SIGNED_IN),
    ("POST", "/inbox/read-all"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/me/notification-settings"): Row(nothing, ANYONE_SIGNED_IN),
    ("PUT", "/me/notification-settings"): Row(nothing, ANYONE_SIGNED_IN, body=_settings_body),
    ("GET", "/deliveries"): Row(nothing, CADRES),
    ("GET", "/deliveries/summary"): Row(nothing, CADRES),
    # Another campus's failed delivery is not found (the list never shows it either).
    ("POST", "/deliveries/{delivery_id}/retry"): Row(failed_delivery, of_main()),
    ("GET", "/templates"): Row(nothing, CADRES),
    ("GET", "/templates/{key}"): Row(template_key, CADRES),
    ("POST", "/templates/{key}/preview"): Row(template_key, CADRES, body=_template_body),
    ("PUT", "/templates/{key}/campuses/{campus}"): Row(
        template_key, expect(403, admin=200), body=_template_body
    ),
    ("DELETE", "/templates/{key}/campuses/{campus}"): Row(template_key, expect(403, admin=204)),
}

NOTIFY: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(nothing, PUBLIC),
    ("GET", "/readyz"): Row(nothing, PUBLIC),
    ("GET", "/metrics"): Row(nothing, PUBLIC),
    ("GET", "/inbox"): Row(nothing, ANYONE_SIGNED_IN),
    ("PATCH", "/inbox/{notice_id}/read"): Row(notice, expect(404, member=200)),
    **NOTIFY_CORE,
}

# -- notify: webhook subscriptions (admin only) -----------------------------------------------


async def webhook(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A subscription of `campus` with one delivery, put there as the routes would (the
    matrix's stack does not allow local receivers, and no public host resolves here)."""
    from services.notify.webhooks.domain import Subscription
    from shared.aggregate import Actor
    from shared.timeutil import utcnow

    hooks = stack.notify.context.webhooks
    sub = Subscription.register(
        f"wh-{uuid.uuid4().hex[:12]}",
        campus,
        "https://hooks.example.org/in",
        ["welfare."],
        "矩阵",
        "admin-all",
        utcnow(),
    )
    await hooks.store.add(sub, Actor("test-seed"))
    event_id = f"e-authz-{uuid.uuid4().hex[:8]}"
    await hooks.deliveries.enqueue(sub.id, event_id, "welfare.budget.threshold_reached.v1", "{}")
    return {"subscription_id": sub.id, "delivery_id": f"{sub.id}:{event_id}"}


ADMIN_ONLY = expect(403, admin=200)
NOTIFY_WEBHOOKS: dict[tuple[str, str], Row] = {
    ("GET", "/webhooks/event-types"): Row(nothing, ADMIN_ONLY),
    # Admins get past the role check to the URL check: no public host resolves in the test.
    ("POST", "/webhooks"): Row(
        nothing,
        expect(403, admin=422),
        body=lambda _: {
            "url": "https://hooks.example.org/in",
            "types": ["welfare."],
            "campus": "main",
        },
    ),
    ("GET", "/webhooks"): Row(nothing, ADMIN_ONLY),
    ("GET", "/webhooks/{subscription_id}"): Row(webhook, ADMIN_ONLY),
    ("POST", "/webhooks/{subscription_id}/pause"): Row(webhook, ADMIN_ONLY),
    ("POST", "/webhooks/{subscription_id}/resume"): Row(webhook, ADMIN_ONLY),
    ("POST", "/webhooks/{subscription_id}/secret"): Row(webhook, ADMIN_ONLY),
    ("GET", "/webhooks/{subscription_id}/deliveries"): Row(webhook, ADMIN_ONLY),
    ("GET", "/webhooks/{subscription_id}/log"): Row(webhook, ADMIN_ONLY),
    ("POST", "/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver"): Row(
        webhook, ADMIN_ONLY
    ),
}

# -- notify: announcements (通知公告) -----------------------------------------------------------


async def announcement(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A mandatory notice of `campus`, posted by its cadre."""
    body = {"campus": campus, "title": "矩阵通知", "body": "内容", "mandatory": True}
    made = await stack.notify_http.post("/announcements", json=body, headers=CADRE[campus])
    return {"announcement_id": (await _ok(made, 201))["id"]}


def _announcement_body(_: dict) -> dict:
    return {"campus": "main", "title": "矩阵通知", "body": "内容", "departments": ["艺术系"]}


NOTIFY_ANNOUNCEMENTS: dict[tuple[str, str], Row] = {
    ("POST", "/announcement-previews"): Row(
        nothing, of_main(cadre_east=403), body=_announcement_body
    ),
    ("POST", "/announcements"): Row(nothing, of_main(201, cadre_east=403), body=_announcement_body),
    ("GET", "/announcements"): Row(nothing, CADRES),
    ("GET", "/announcements/{announcement_id}"): Row(announcement, CADRE_OF_MAIN),
    ("GET", "/announcements/{announcement_id}/unread"): Row(announcement, CADRE_OF_MAIN),
}

_FUND_YEARS = itertools.count(2000)  # a fresh fiscal year per adoption: a budget is adopted once
_LEDGERS: dict[str, str] = {}  # campus -> the year every ledger target posts into (2100)


async def fund_year(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A campus's fiscal year with nothing in it yet."""
    return {"campus": campus, "year": str(next(_FUND_YEARS))}


async def ledger(stack: Stack, campus: str = "main") -> dict[str, str]:
    """The campus's ledger of 2100, its budget adopted once, with a new income entry (`seq`)."""
    found = {"campus": campus, "year": "2100"}
    if campus not in _LEDGERS:
        base = f"/funds/budgets/{campus}/2100"
        budget = {"lines": {"spend_activity_festival": 1_000_000_000}, "note": "预算"}
        await _ok(await stack.welfare_http.post(base, json=budget, headers=ADMIN), 201)
        _LEDGERS[campus] = "2100"
    url = f"/funds/ledgers/{campus}/{found['year']}/income"
    made = await _ok(
        await stack.welfare_http.post(
            url, json=_posting("income_dues", found["year"]), headers=ADMIN
        ),
        201,
    )
    return {**found, "seq": str(made["entry"]["seq"])}


def _posting(line: str, year: str) -> dict:
    return {
        "occurred_on": f"{year}-06-01",
        "line": line,
        "amount_fen": 4550,
        "cause": "矩阵",
        "approved_by": "主席",
        "voucher_no": "记-001",
        "idempotency_key": f"authz-{uuid.uuid4().hex[:12]}",
    }


# Money: finance of the campus writes, the auditor reads and changes nothing, the chair
# (admin) adopts and amends budgets; nobody else sees the union's books through these routes.
BOOKS_READERS = expect(403, finance=200, auditor=200, admin=200)
BOOKS_WRITERS = expect(403, finance=201, admin=201)
CHAIR_ONLY = expect(403, admin=201)
WELFARE: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row(nothing, PUBLIC),
    ("GET", "/readyz"): Row(nothing, PUBLIC),
    ("GET", "/metrics"): Row(nothing, PUBLIC),
    ("GET", "/funds/chart"): Row(nothing, ANYONE_SIGNED_IN),
    ("POST", "/funds/budgets/{campus}/{year}"): Row(
        fund_year,
        CHAIR_ONLY,
        body=lambda _: {"lines": {"spend_activity_festival": 100_000}, "note": "预算"},
    ),
    ("POST", "/funds/budgets/{campus}/{year}/amendments"): Row(
        ledger,
        CHAIR_ONLY,
        body=lambda _: {
            "line": "spend_activity_festival",
            "change_fen": 100,
            "reason": "调整",
            "idempotency_key": f"authz-{uuid.uuid4().hex[:12]}",
        },
    ),
    ("GET", "/funds/budgets/{campus}/{year}"): Row(ledger, BOOKS_READERS),
    ("GET", "/funds/summary/{year}"): Row(ledger, BOOKS_READERS),
    ("POST", "/funds/ledgers/{campus}/{year}/income"): Row(
        ledger, BOOKS_WRITERS, body=lambda t: _posting("income_dues", t["year"])
    ),
    ("POST", "/funds/ledgers/{campus}/{year}/payments"): Row(
        ledger, BOOKS_WRITERS, body=lambda t: _posting("spend_activity_festival", t["year"])
    ),
    ("POST", "/funds/ledgers/{campus}/{year}/entries/{seq}/reversal"): Row(
        ledger,
        BOOKS_WRITERS,
        body=lambda t: {"reason": "冲正", "occurred_on": f"{t['year']}-06-02"},
    ),
    ("GET", "/funds/ledgers/{campus}/{year}/entries"): Row(ledger, BOOKS_READERS),
    ("GET", "/funds/ledgers/{campus}/{year}/entries/{seq}"): Row(ledger, BOOKS_READERS),
    ("GET", "/funds/ledgers/{campus}/{year}/check"): Row(ledger, BOOKS_READERS),
    ("GET", "/funds/ledgers/{campus}/{year}/export.csv"): Row(ledger, BOOKS_READERS),
    ("GET", "/funds/ledgers/{campus}/{year}/export.xlsx"): Row(ledger, BOOKS_READERS),
}

# -- members' voice: surveys (SELF, a member of main, answers; cadres of main run them) --


def _survey_body(_: dict) -> dict:
    return {
        "title": "权限矩阵问卷",
        "campus": "main",
        "opens_at": later(-1),
        "closes_at": later(7),
        "allow_change": True,
        "questions": [{"kind": "single", "title": "形式", "options": ["甲", "乙"]}],
    }


async def survey(stack: Stack, campus: str = "main", publish: bool = True) -> dict[str, str]:
    http = stack.events_http
    body = {**_survey_body({}), "campus": campus}
    made = await _ok(await http.post("/surveys", json=body, headers=CADRE[campus]), 201)
    if publish:
        await _ok(await http.post(f"/surveys/{made['id']}/publish", headers=CADRE[campus]))
    return {"survey_id": made["id"]}


async def survey_draft(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await survey(stack, campus, publish=False)


async def survey_answered(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await survey(stack, campus)
    url = f"/surveys/{found['survey_id']}/answers"
    me = bearer(SELF, ["member"], [campus])
    await _ok(await stack.events_http.post(url, json={"answers": {"q1": 0}}, headers=me), 201)
    return found


ANSWER = {"answers": {"q1": 1}}
SURVEYS: dict[tuple[str, str], Row] = {
    ("POST", "/surveys"): Row(nothing, of_main(201, cadre_east=403), body=_survey_body),
    ("GET", "/surveys"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/surveys/{survey_id}"): Row(survey, ALL_BUT_OTHER_CAMPUSES),
    ("POST", "/surveys/{survey_id}/publish"): Row(survey_draft, CADRE_OF_MAIN),
    ("POST", "/surveys/{survey_id}/close"): Row(survey, CADRE_OF_MAIN),
    # Members of main in the directory answer (the leader too); tokens of no member are
    # refused (403); another campus does not see the survey (404).
    ("POST", "/surveys/{survey_id}/answers"): Row(
        survey,
        expect(403, member=201, other_member=201, group_leader=201, cadre_east=404),
        body=lambda _: ANSWER,
    ),
    # Only SELF answered: the other members have nothing to change (404 answer.not_found).
    ("PUT", "/surveys/{survey_id}/answers/mine"): Row(
        survey_answered,
        expect(403, member=200, other_member=404, group_leader=404, cadre_east=404),
        body=lambda _: ANSWER,
    ),
    ("GET", "/surveys/{survey_id}/answers/mine"): Row(survey_answered, ALL_BUT_OTHER_CAMPUSES),
    ("GET", "/me/surveys"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/surveys/{survey_id}/results"): Row(survey_answered, CADRE_OF_MAIN),
    ("GET", "/surveys/{survey_id}/results.csv"): Row(survey_answered, CADRE_OF_MAIN),
    ("GET", "/surveys/{survey_id}/results.xlsx"): Row(survey_answered, CADRE_OF_MAIN),
}

# -- the suggestion box: SELF writes; cadres of main forward and reply --


async def suggestion(stack: Stack, campus: str = "main") -> dict[str, str]:
    body = {"title": "建议", "body": "多办读书会", "anonymous": False}
    me = bearer(SELF, ["member"], [campus])
    made = await _ok(await stack.events_http.post("/suggestions", json=body, headers=me), 201)
    return {"suggestion_id": made["id"]}


SUGGESTIONS: dict[tuple[str, str], Row] = {
    # Members in the directory write (SELF, OTHER, the leader); other tokens are no members.
    ("POST", "/suggestions"): Row(
        nothing,
        expect(403, member=201, other_member=201, group_leader=201),
        body=lambda _: {"title": "建议", "body": "内容", "anonymous": True},
    ),
    ("GET", "/suggestions"): Row(nothing, expect(403, cadre_main=200, cadre_east=200, admin=200)),
    # Its writer and the cadres of its campus read it; nobody else learns it exists.
    ("GET", "/suggestions/{suggestion_id}"): Row(
        suggestion, expect(404, member=200, cadre_main=200, admin=200)
    ),
    ("POST", "/suggestions/{suggestion_id}/forward"): Row(
        suggestion, CADRE_OF_MAIN, body=lambda _: {"department": "后勤处"}
    ),
    ("POST", "/suggestions/{suggestion_id}/reply"): Row(
        suggestion, CADRE_OF_MAIN, body=lambda _: {"text": "已答复"}
    ),
    ("GET", "/me/suggestions"): Row(nothing, ANYONE_SIGNED_IN),
    # 订阅活动日历 on the activities page: everyone signed in gets their campus's feed.
    ("GET", "/me/calendar"): Row(nothing, ANYONE_SIGNED_IN),
}

# -- funds-plans (issue 14): policy caps and festival distribution plans -------------------------

PLAN_YEAR = "2100"  # plans spend from the 2100 ledger of main (adopted once by `ledger`)


async def welfare_member(stack: Stack, campus: str = "main") -> dict[str, str]:
    """SELF in welfare's member directory (welfare learns members from events)."""
    await _in_welfare_directory(stack)
    return {"campus": campus, "member_id": SELF, "year": PLAN_YEAR, "department": "艺术系"}


def _plan_body(_: dict) -> dict:
    return {
        "title": "端午节福利",
        "festival": "dragon_boat",
        "year": int(PLAN_YEAR),
        "campuses": ["main"],
        "standard_fen": 100,
        "options": [{"code": "zongzi", "name": "粽子", "price_fen": 100, "form": "food"}],
        "reference_date": f"{PLAN_YEAR}-01-01",
        "deadline": f"{PLAN_YEAR}-06-01T00:00:00+08:00",
        "default_option": "zongzi",
    }


async def welfare_plan(stack: Stack, campus: str = "main", step: str = "draft") -> dict[str, str]:
    found = await welfare_member(stack, campus)
    made = await _ok(
        await stack.welfare_http.post("/welfare/plans", json=_plan_body({}), headers=ADMIN), 201
    )
    plan_id = made["id"]
    if step in ("approved", "published", "chosen"):
        await _ok(
            await stack.welfare_http.post(f"/welfare/plans/{plan_id}/approval", headers=ADMIN)
        )
    if step in ("published", "chosen"):
        url = f"/welfare/plans/{plan_id}/publication"
        await _ok(await stack.welfare_http.post(url, headers=ADMIN))
    entitlement = f"{plan_id}:{SELF}"
    if step == "chosen":
        await ledger(stack, "main")
        url = f"/welfare/entitlements/{entitlement}/choice"
        mine = bearer(SELF, ["member"], ["main"])
        await _ok(await stack.welfare_http.post(url, json={"option": "zongzi"}, headers=mine))
    return {**found, "plan_id": plan_id, "entitlement_id": entitlement}


async def plan_draft(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await welfare_plan(stack, campus, "draft")


async def plan_approved(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await welfare_plan(stack, campus, "approved")


async def plan_published(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await welfare_plan(stack, campus, "published")


async def plan_issued(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await welfare_plan(stack, campus, "chosen")
    url = f"/welfare/plans/{found['plan_id']}/issues"
    body = {"campus": "main", "department": "艺术系"}
    for _ in range(50):  # the choice reaches the list view the issue desk reads
        issued = await _ok(await stack.welfare_http.post(url, json=body, headers=ADMIN))
        if issued["issued"]:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the entitlement was not issued")


PLAN_CADRE = expect(403, cadre_main=200, admin=200)
PLAN_READERS = expect(403, cadre_main=200, finance=200, auditor=200, admin=200)
WELFARE_PLANS: dict[tuple[str, str], Row] = {
    ("GET", "/welfare/policy"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/welfare/caps/{member_id}/{year}"): Row(
        welfare_member, expect(403, member=200, cadre_main=200, finance=200, auditor=200, admin=200)
    ),
    ("POST", "/welfare/caps/check"): Row(
        welfare_member,
        expect(403, cadre_main=200, finance=200, admin=200),
        body=lambda t: {
            "member_id": t["member_id"],
            "category": "birthday",
            "year": 2100,
            "amount_fen": 100,
        },
    ),
    ("GET", "/welfare/plans"): Row(nothing, expect(200, member=403, other_member=403, system=403)),
    ("POST", "/welfare/plans"): Row(
        welfare_member, expect(403, cadre_main=201, admin=201), body=_plan_body
    ),
    ("GET", "/welfare/plans/{plan_id}"): Row(plan_draft, PLAN_READERS),
    ("POST", "/welfare/plans/{plan_id}/copy"): Row(
        plan_draft, expect(403, cadre_main=201, admin=201), body=lambda _: {"year": 2099}
    ),
    ("POST", "/welfare/plans/{plan_id}/approval"): Row(plan_draft, expect(403, admin=200)),
    ("POST", "/welfare/plans/{plan_id}/publication"): Row(plan_approved, PLAN_CADRE),
    ("GET", "/welfare/plans/{plan_id}/capped"): Row(plan_published, PLAN_CADRE),
    ("GET", "/welfare/entitlements/mine"): Row(nothing, ANYONE_SIGNED_IN),
    ("POST", "/welfare/entitlements/{entitlement_id}/choice"): Row(
        plan_published, expect(403, member=200), body=lambda _: {"option": "zongzi"}
    ),
    ("POST", "/welfare/entitlements/{entitlement_id}/receipt"): Row(
        plan_issued, expect(403, member=200)
    ),
    ("POST", "/welfare/plans/{plan_id}/issues"): Row(
        plan_published, PLAN_CADRE, body=lambda _: {"campus": "main", "department": "艺术系"}
    ),
    ("GET", "/welfare/plans/{plan_id}/signoff/{campus}/{department}"): Row(
        plan_published, PLAN_CADRE
    ),
    ("GET", "/welfare/plans/{plan_id}/signoff/{campus}/{department}/sheet.xlsx"): Row(
        plan_published, PLAN_CADRE
    ),
    ("GET", "/welfare/plans/{plan_id}/report"): Row(plan_published, PLAN_READERS),
    ("GET", "/welfare/plans/{plan_id}/report.xlsx"): Row(plan_published, PLAN_READERS),
}
WELFARE.update(WELFARE_PLANS)

# 经费公开 (funds-pages): every member reads budget against actual of their campuses.
WELFARE_PUBLIC: dict[tuple[str, str], Row] = {
    ("GET", "/funds/public/{year}"): Row(ledger, expect(200, system=403)),
}
WELFARE.update(WELFARE_PUBLIC)

# -- welfare-exams: the annual physical exam --------------------------------------------------

_EXAM_YEARS = itertools.count(2060)  # a plan per year and campus: each target its own year


async def _in_welfare_directory(stack: Stack) -> None:
    directory = stack.welfare.db[MEMBER_DIRECTORY]
    if await directory.find_one({"_id": SELF}):
        return
    await directory.insert_many(
        [
            {
                "_id": member_id,
                "staff_no": f"AZW{RUN}{i}",
                "name": name,
                "campus": "main",
                "department": "艺术系",
                "gender": "female",
                "birth_year": 1980,
                "status": "active",
                "joined_on": "2020-09-01",
                "roles": [],
                "sequence": "0000000001.000",
            }
            for i, (member_id, name) in enumerate(
                [(SELF, "目标"), (OTHER, "同事"), (LEADER, "组长")]
            )
        ]
    )


def _exam_plan_body(year: str) -> dict:
    return {
        "title": "体检",
        "union_pays": False,
        "providers": [{"code": "rmyy", "name": "人民医院"}],
        "packages": [{"code": "basic", "name": "基础套餐", "price_fen": 40_000}],
        "slots": [{"code": "a", "provider": "rmyy", "day": f"{year}-03-10", "capacity": 50}],
    }


async def exam_year(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A campus's exam year with no plan yet."""
    await _in_welfare_directory(stack)
    return {"campus": campus, "year": str(next(_EXAM_YEARS))}


async def _plan_of(stack: Stack, found: dict[str, str]) -> dict[str, str]:
    url = f"/exams/plans/{found['campus']}/{found['year']}"
    await _ok(await stack.welfare_http.put(url, json=_exam_plan_body(found["year"]), headers=ADMIN))
    return {**found, "member_id": SELF}


async def exam_plan(stack: Stack, campus: str = "main") -> dict[str, str]:
    """The campus's plan of 2059 (shared by the rows that leave it as it was)."""
    await _in_welfare_directory(stack)
    return await _plan_of(stack, {"campus": campus, "year": "2059"})


async def _booked(stack: Stack, found: dict[str, str]) -> dict[str, str]:
    url = f"/exams/plans/{found['campus']}/{found['year']}/bookings"
    body = {"slot": "a", "package": "basic", "member_id": SELF}
    await _ok(await stack.welfare_http.post(url, json=body, headers=ADMIN))
    return found


async def exam_booked(stack: Stack, campus: str = "main") -> dict[str, str]:
    """SELF booked on the shared plan (booked again after a persona cancelled)."""
    return await _booked(stack, await exam_plan(stack, campus))


async def exam_booked_anew(stack: Stack, campus: str = "main") -> dict[str, str]:
    """SELF booked on a plan of its own (completion is for good)."""
    return await _booked(stack, await _plan_of(stack, await exam_year(stack, campus)))


EXAM_CADRE = expect(403, cadre_main=200, admin=200)
SELF_OR_CADRE = expect(403, member=200, cadre_main=200, admin=200)
WELFARE_EXAMS: dict[tuple[str, str], Row] = {
    ("PUT", "/exams/plans/{campus}/{year}"): Row(
        exam_year, EXAM_CADRE, body=lambda t: _exam_plan_body(t["year"])
    ),
    ("GET", "/exams/plans/{campus}/{year}"): Row(exam_plan, expect(200, cadre_east=403)),
    ("GET", "/exams/plans/{campus}/{year}/mine"): Row(
        exam_plan, expect(404, cadre_east=403, member=200, other_member=200, group_leader=200)
    ),
    ("POST", "/exams/plans/{campus}/{year}/bookings"): Row(
        exam_plan,
        SELF_OR_CADRE,
        body=lambda _: {"slot": "a", "package": "basic", "member_id": SELF},
    ),
    ("GET", "/exams/plans/{campus}/{year}/bookings/{member_id}"): Row(exam_booked, SELF_OR_CADRE),
    ("POST", "/exams/plans/{campus}/{year}/bookings/{member_id}/cancel"): Row(
        exam_booked, SELF_OR_CADRE
    ),
    ("POST", "/exams/plans/{campus}/{year}/bookings/{member_id}/completion"): Row(
        exam_booked_anew, EXAM_CADRE, body=lambda t: {"completed_on": f"{t['year']}-03-10"}
    ),
    ("POST", "/exams/plans/{campus}/{year}/completions"): Row(
        exam_plan,
        EXAM_CADRE,
        files=lambda _: {"file": ("名单.csv", "工号,体检日期\r\n".encode("gbk"), "text/csv")},
    ),
    ("GET", "/exams/plans/{campus}/{year}/statistics"): Row(exam_plan, EXAM_CADRE),
    # Once a day: a second press answers the day's reminder (200) and sends nothing.
    ("POST", "/exams/plans/{campus}/{year}/reminders"): Row(exam_plan, EXAM_CADRE),
}
WELFARE.update(WELFARE_EXAMS)


# -- welfare-exams: mutual-aid insurance ------------------------------------------------------

_AID_YEAR = "2058"
_AID_BUDGETS: set[str] = set()
_SCHEME_CODES = itertools.count(1)
_ID_NUMBER = "110101199003070011"  # a valid check digit (GB 11643)


async def aid_scheme(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A fresh scheme of main for 2058 (its budget adopted once)."""
    await _in_welfare_directory(stack)
    if campus not in _AID_BUDGETS:
        budget = {"lines": {"spend_rights_other": 1_000_000_000}, "note": "互助保障"}
        url = f"/funds/budgets/{campus}/{_AID_YEAR}"
        await _ok(await stack.welfare_http.post(url, json=budget, headers=ADMIN), 201)
        _AID_BUDGETS.add(campus)
    found = {"campus": campus, "year": _AID_YEAR, "code": f"s{next(_SCHEME_CODES)}"}
    url = "/mutual-aid/schemes/{campus}/{year}/{code}".format(**found)
    await _ok(await stack.welfare_http.put(url, json=_scheme_body(), headers=ADMIN))
    return {**found, "member_id": SELF}


def _scheme_body(_: Any = None) -> dict:
    return {
        "name": "大病互助保障",
        "kind": "major_illness",
        "insurer": "职工保险互助会",
        "premium_fen": 5000,
        "enrol_until": f"{_AID_YEAR}-12-31",
    }


async def aid_enrolled(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await aid_scheme(stack, campus)
    url = "/mutual-aid/schemes/{campus}/{year}/{code}/enrolments".format(**found)
    body = {"id_number": _ID_NUMBER, "member_id": SELF}
    await _ok(await stack.welfare_http.post(url, json=body, headers=ADMIN), 201)
    return found


async def aid_claim(stack: Stack, campus: str = "main") -> dict[str, str]:
    found = await aid_enrolled(stack, campus)
    url = "/mutual-aid/schemes/{campus}/{year}/{code}/claims".format(**found)
    body = {"claimed_fen": 100_000, "occurred_on": f"{_AID_YEAR}-05-01", "member_id": SELF}
    made = await _ok(await stack.welfare_http.post(url, json=body, headers=ADMIN), 201)
    return {**found, "claim_id": made["id"]}


# The auditor reads enrolments to trace the premiums on the ledger (ID numbers masked).
AID_READERS = expect(403, cadre_main=200, finance=200, auditor=200, admin=200)
SELF_OR_CADRE_CREATES = expect(403, member=201, cadre_main=201, admin=201)
_SCHEME = "/mutual-aid/schemes/{campus}/{year}/{code}"
WELFARE_MUTUAL_AID: dict[tuple[str, str], Row] = {
    ("PUT", _SCHEME): Row(aid_scheme, EXAM_CADRE, body=_scheme_body),
    ("GET", "/mutual-aid/schemes/{campus}/{year}"): Row(aid_scheme, expect(200, cadre_east=403)),
    ("POST", f"{_SCHEME}/enrolments"): Row(
        aid_scheme,
        SELF_OR_CADRE_CREATES,
        body=lambda _: {"id_number": _ID_NUMBER, "member_id": SELF},
    ),
    ("GET", f"{_SCHEME}/enrolments"): Row(aid_enrolled, AID_READERS),
    ("GET", f"{_SCHEME}/enrolments.xlsx"): Row(aid_enrolled, AID_READERS),
    ("GET", f"{_SCHEME}/enrolments/{{member_id}}"): Row(
        aid_enrolled, expect(403, member=200, cadre_main=200, finance=200, auditor=200, admin=200)
    ),
    ("POST", f"{_SCHEME}/claims"): Row(
        aid_enrolled,
        SELF_OR_CADRE_CREATES,
        body=lambda t: {
            "claimed_fen": 100_000,
            "occurred_on": f"{t['year']}-05-01",
            "member_id": SELF,
        },
    ),
    # Claims: the insurer pays them, nothing of them is on the union's ledger: no auditor.
    ("GET", f"{_SCHEME}/claims"): Row(
        aid_enrolled, expect(403, cadre_main=200, finance=200, admin=200)
    ),
    ("GET", "/mutual-aid/claims/mine"): Row(nothing, ANYONE_SIGNED_IN),
    ("GET", "/mutual-aid/claims/{claim_id}"): Row(aid_claim, SELF_OR_CADRE),
    ("POST", "/mutual-aid/claims/{claim_id}/status"): Row(
        aid_claim, EXAM_CADRE, body=lambda _: {"status": "with_insurer"}
    ),
}
WELFARE.update(WELFARE_MUTUAL_AID)


# -- welfare-care: condolence cases and visits --------------------------------------------------
_CARE_BUDGET: set[str] = set()  # campuses whose 2098 budget has the case line
CARE_YEAR = "2098"


async def care_case(stack: Stack, campus: str = "main", approved: bool = False) -> dict[str, str]:
    """A fresh case for SELF (a donor case: no per-person cap), raised by the chair."""
    await _in_welfare_directory(stack)
    body = {
        "member_id": SELF,
        "kind": "blood_donation",
        "amount_fen": 100,
        "summary": "矩阵",
        "occurred_on": f"{CARE_YEAR}-06-01",
    }
    made = await _ok(await stack.welfare_http.post("/cases", json=body, headers=ADMIN), 201)
    if approved:
        if campus not in _CARE_BUDGET:
            budget = {"lines": {"spend_activity_other": 1_000_000_000}, "note": "预算"}
            url = f"/funds/budgets/{campus}/{CARE_YEAR}"
            await _ok(await stack.welfare_http.post(url, json=budget, headers=ADMIN), 201)
            _CARE_BUDGET.add(campus)
        url = f"/cases/{made['id']}/approve"
        await _ok(await stack.welfare_http.post(url, json={}, headers=ADMIN))
    return {"case_id": made["id"]}


async def approved_case(stack: Stack, campus: str = "main") -> dict[str, str]:
    return await care_case(stack, campus, approved=True)


def _case_body(_: dict) -> dict:
    return {
        "member_id": SELF,
        "kind": "illness",
        "amount_fen": 100,
        "summary": "住院",
        "occurred_on": f"{CARE_YEAR}-06-01",
    }


CHAIR_DECIDES = expect(403, admin=200)
CAMPUS_CADRES = expect(403, cadre_main=200, admin=200)
_REVIEW_YEARS = itertools.count(2000)  # a file is reviewed once a year


async def fresh_member(stack: Stack, campus: str = "main") -> dict[str, str]:
    """A member of `campus` welfare knows and nothing has been done for yet."""
    member_id = f"m-authz-care-{uuid.uuid4().hex[:8]}"
    member = {"_id": member_id, "name": "新人", "campus": campus, "status": "active"}
    await stack.welfare.db[MEMBER_DIRECTORY].insert_one({**member, "sequence": "1"})
    return {"member": member_id}


async def birthday(stack: Stack, campus: str = "main") -> dict[str, str]:
    """SELF's benefit of this month (made once; its last day is still ahead)."""
    today = local_today()
    month = f"{today.year:04d}-{today.month:02d}"
    directory = stack.welfare.db[MEMBER_DIRECTORY]
    await _in_welfare_directory(stack)
    await directory.update_one({"_id": SELF}, {"$set": {"birthday": f"{today.month:02d}-01"}})
    await offer_month(stack.welfare.context.birthdays, month, Actor("authz"))
    return {"benefit_id": f"b-{today.year}-{SELF}"}


async def hardship_file(stack: Stack, campus: str = "main") -> dict[str, str]:
    """SELF's hardship file (opened once, by the chair)."""
    await _in_welfare_directory(stack)
    body = {"member_id": SELF, "level": "ordinary", "reason": "家庭困难"}
    made = await stack.welfare_http.post("/hardship", json=body, headers=ADMIN)
    assert made.status_code in (201, 409), made.text
    return {"file_id": f"h-{SELF}"}


WELFARE_CARE: dict[tuple[str, str], Row] = {
    # A cadre of the member's campus, or the member for themself.
    ("POST", "/cases"): Row(
        nothing, expect(403, member=201, cadre_main=201, admin=201), body=_case_body
    ),
    # Cadres, finance and the auditor their campuses', a member their own (others: an empty page).
    ("GET", "/cases"): Row(nothing, expect(200, system=403)),
    ("GET", "/cases/{case_id}"): Row(
        care_case,
        expect(
            404,
            member=200,
            cadre_main=200,
            cadre_east=403,
            finance=200,
            auditor=200,  # traces a ledger payment to its case (never the visit notes)
            admin=200,
            system=403,
        ),
    ),
    ("POST", "/cases/{case_id}/approve"): Row(care_case, CHAIR_DECIDES, body=lambda _: {}),
    ("POST", "/cases/{case_id}/decline"): Row(
        care_case, CHAIR_DECIDES, body=lambda _: {"note": "不符合条件"}
    ),
    ("POST", "/cases/{case_id}/cancel"): Row(
        care_case, CHAIR_DECIDES, body=lambda _: {"note": "重复登记"}
    ),
    ("POST", "/cases/{case_id}/pay"): Row(
        approved_case,
        expect(403, finance=200, admin=200),
        body=lambda _: {"voucher_no": "记-9", "paid_on": f"{CARE_YEAR}-06-02"},
    ),
    # Visit notes: the chair and the cadres of the member's campus only.
    ("POST", "/cases/{case_id}/visits"): Row(
        care_case,
        expect(403, cadre_main=201, admin=201),
        body=lambda _: {
            "visitors": ["张主席"],
            "visited_on": f"{CARE_YEAR}-06-03",
            "brought": "水果",
            "notes": "家属情况",
        },
    ),
    ("GET", "/cases/{case_id}/visits"): Row(care_case, expect(403, cadre_main=200, admin=200)),
    # The hardship register: the chair and the campus's cadres only.
    ("POST", "/hardship"): Row(
        fresh_member,
        expect(403, cadre_main=201, admin=201),
        body=lambda t: {"member_id": t["member"], "level": "ordinary", "reason": "家庭困难"},
    ),
    ("GET", "/hardship"): Row(nothing, expect(403, cadre_main=200, cadre_east=200, admin=200)),
    ("GET", "/hardship/{file_id}"): Row(hardship_file, CAMPUS_CADRES),
    ("POST", "/hardship/{file_id}/help"): Row(
        hardship_file,
        CAMPUS_CADRES,
        body=lambda _: {"given_on": "2098-01-20", "what": "慰问金", "amount_fen": 100},
    ),
    ("POST", "/hardship/{file_id}/reviews"): Row(
        hardship_file,
        CAMPUS_CADRES,
        body=lambda _: {"year": next(_REVIEW_YEARS), "outcome": "keep", "note": "继续帮扶"},
    ),
    # Birthdays: a member reads and chooses their own; cadres list their campuses'.
    ("GET", "/birthdays/mine"): Row(nothing, expect(200, system=403)),
    ("POST", "/birthdays/{benefit_id}/choice"): Row(
        birthday, expect(404, member=200, system=403), body=lambda _: {"gift": "books"}
    ),
    ("GET", "/birthdays"): Row(
        nothing, expect(403, cadre_main=200, cadre_east=200, finance=200, auditor=200, admin=200)
    ),
    # Running a month now: the school's chair only (the job does it on the 1st).
    ("POST", "/birthdays/runs"): Row(
        nothing, expect(403, admin=200), body=lambda _: {"month": "2097-01"}
    ),
}
WELFARE.update(WELFARE_CARE)


MATRICES = {
    "events": EVENTS | SURVEYS | SUGGESTIONS | COMMENDATIONS | CONGRESS,
    "notify": {**NOTIFY, **NOTIFY_WEBHOOKS, **NOTIFY_ANNOUNCEMENTS},
    "welfare": WELFARE,
}
APPS: dict[str, Any] = {
    "events": events_bootstrap,
    "notify": notify_bootstrap,
    "welfare": welfare_bootstrap,
}


@pytest.mark.parametrize("service", MATRICES)
def test_every_route_has_a_row(service):
    routes = routes_of(APPS[service](configure_logs=False).app)
    rows = MATRICES[service].keys()
    assert not sorted(routes - rows), f"{service} routes without a row: {sorted(routes - rows)}"
    assert not sorted(rows - routes), f"{service} rows for routes that no longer exist"


CASES = [(s, route) for s, rows in MATRICES.items() for route in sorted(rows)]


@pytest.mark.parametrize(
    ("service", "route"), CASES, ids=lambda v: v if isinstance(v, str) else f"{v[0]} {v[1]}"
)
async def test_the_matrix(stack: Stack, service: str, route: tuple[str, str]):
    method, template = route
    row = MATRICES[service][route]
    http = getattr(stack, f"{service}_http")
    shared = await row.target(stack, row.campus)
    got: dict[str, int] = {}
    for persona in PERSONAS:
        # A caller who may change the target gets one of its own (a cadre's approval must not
        # leave the admin an approved plan); the refused share one, as they change nothing.
        changes = method != "GET" and 200 <= row.expected[persona] < 300
        target = await row.target(stack, row.campus) if changes else shared
        params = {**target, **row.query}
        response = await http.request(
            method,
            template.format(**params),
            json=row.body(target) if row.body else None,
            files=row.files(target) if row.files else None,
            headers=headers(persona),
        )
        got[persona] = response.status_code
    assert got == row.expected, f"{service} {method} {template}: {as_row(got)}"

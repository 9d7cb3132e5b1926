"""Who may call what: one table over EVERY members route, read from the app's OpenAPI.

A route added without a row fails `test_every_route_has_a_row`. Each row names the expected
status for the callers: the member themself and another member, a cadre of the member's
campus and one of another campus, finance, an auditor, an admin, another system, and no
token at all; a group leader, the cadres of the other two campuses, the chair and a token with
two campuses answer as the persona they follow (FOLLOWS) unless the row names them. Each caller that may change the target gets a fresh one in the state the route
needs; the refused ones share one, which must come out unchanged. On every answer, personal data the caller may not see must
not appear in clear (JSON and any other body).

The exports (CSV and XLSX) are checked the same way: an XLSX workbook is opened and its
cells read before looking for secrets.
"""

from __future__ import annotations

import io
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from services.members.bootstrap import bootstrap
from services.members.membership.api import XLSX
from services.members.membership.domain import member_id_for
from shared.aggregate import Actor
from shared.timeutil import local_today
from tests.integration.conftest import DEPARTMENTS, SMALL_GROUPS, Stack, bearer, build_stack
from tests.integration.conftest import close_stack as close
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

PHONE, EMAIL = "13912345678", "secretmail@school.local"
ID_NUMBER, SALARY = "110101199003070012", 731_947
PASSWORD = "Chushi-2026"

PERSONAS = (
    "self",
    "other_member",
    "cadre",
    "cadre_other_campus",
    "finance",
    "auditor",
    "admin",
    "system",
    "anonymous",
    # Personas that answer as another unless a row names them (FOLLOWS): a group leader (小组长
    # is a cadre of main), cadres of the two other campuses, the school union's chair (admin of
    # every campus), and one token with main and east.
    "group_leader",
    "cadre_west",
    "cadre_north",
    "chair",
    "multi_campus",
)
FOLLOWS = {
    "group_leader": "cadre",
    "cadre_west": "cadre_other_campus",
    "cadre_north": "cadre_other_campus",
    "chair": "admin",
    "multi_campus": "cadre",
}
# Who may see each secret in clear (on any route that shows it at all).
SEES = {
    "phone": {"self", "admin", "chair"},
    "email": {"self", "admin", "chair"},
    "id_number": {"self", "admin", "chair"},  # only through reveal, which the row checks
    "salary": {"self", "finance", "admin", "chair"},
}
SECRETS = {"phone": PHONE, "email": EMAIL, "id_number": ID_NUMBER, "salary": str(SALARY)}


def headers_for(persona: str, target: str, other: str) -> dict[str, str]:
    tokens = {
        "self": (target, ["member"], ["main"]),
        "other_member": (other, ["member"], ["main"]),
        "cadre": ("cadre-main", ["cadre"], ["main"]),
        "cadre_other_campus": ("cadre-east", ["cadre"], ["east"]),
        "finance": ("finance-main", ["finance"], ["main"]),
        "auditor": ("auditor-main", ["auditor"], ["main"]),
        "admin": ("admin-all", ["admin"], ["*"]),
        "system": ("hr-system", ["system"], ["*"]),
        "group_leader": ("leader-main", ["cadre", "member"], ["main"]),
        "cadre_west": ("cadre-west", ["cadre"], ["west"]),
        "cadre_north": ("cadre-north", ["cadre"], ["north"]),
        "chair": ("chair", ["admin", "cadre", "member"], ["*", "main"]),
        "multi_campus": ("cadre-main-east", ["cadre", "member"], ["east", "main"]),
    }
    if persona == "anonymous":
        return {}
    subject, roles, campuses = tokens[persona]
    return bearer(subject, roles, campuses)


ADMIN = headers_for("admin", "", "")


def expect(
    default: int,
    anonymous: int = 401,
    **by_persona: int,
) -> dict[str, int]:
    statuses = {p: default for p in PERSONAS if p not in FOLLOWS}
    statuses["anonymous"] = anonymous
    statuses.update({p: s for p, s in by_persona.items() if p not in FOLLOWS})
    for follower, leader in FOLLOWS.items():
        statuses[follower] = by_persona.get(follower, statuses[leader])
    return statuses


PUBLIC = expect(200, anonymous=200)
CADRE_OF_CAMPUS = expect(403, cadre=200, cadre_other_campus=404, admin=200)


@dataclass(frozen=True)
class Row:
    state: str  # the target's state: active / applied / withdrawn / none
    expected: dict[str, int]
    body: Callable[[str], Any] | None = None  # target staff number -> JSON body
    path: dict[str, str] = field(default_factory=dict)  # fixed path parameters
    prepare: Callable[[Stack, dict], Awaitable[None]] | None = None
    path_of: Callable[[dict], dict[str, str]] | None = None  # path parameters of a target
    files: Callable[[str], dict] | None = None  # a multipart upload instead of a JSON body


# Path parameters a `prepare` makes (an import job to read), by name.
MADE: dict[str, str] = {}


async def _with_password(stack: Stack, member: dict) -> None:
    response = await stack.members_http.put(
        f"/members/{member['id']}/password", json={"password": PASSWORD}, headers=ADMIN
    )
    assert response.status_code == 200, response.text


def _fresh(_: str) -> dict:
    return {
        "staff_no": f"N{uuid.uuid4().hex[:8].upper()}",
        "name": "新人",
        "campus": "main",
        "department": "艺术系",
    }


CAMPUS_MAIN = {"name": "main校区", "departments": DEPARTMENTS, "small_groups": SMALL_GROUPS}


def _member_list(_: str) -> dict:
    row = f"N{uuid.uuid4().hex[:8].upper()},新人,main,艺术系\n"
    return {"file": ("名单.csv", ("工号,姓名,校区,部门\n" + row).encode(), "text/csv")}


async def _an_import(stack: Stack, _: dict) -> None:
    response = await stack.members_http.post(
        "/imports", files=_member_list(""), headers=headers_for("cadre", "", "")
    )
    assert response.status_code == 202, response.text
    MADE["import_id"] = response.json()["id"]


# -- childcare rounds and dues bills the rows need, one per target ----------------------------
_DAYS = itertools.count()
_ROUNDS: dict[str, str] = {}  # target member id -> its round
MONTH = f"{local_today():%Y-%m}"


def _new_day() -> date:
    return date(2100, 1, 1) + timedelta(days=next(_DAYS))  # a survey date no row shares


async def _with_round(stack: Stack, member: dict) -> None:
    body = {"campus": "main", "survey_date": _new_day().isoformat()}
    response = await stack.members_http.post("/childcare/rounds", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    _ROUNDS[member["id"]] = response.json()["id"]


async def _with_answer(stack: Stack, member: dict) -> None:
    await _with_round(stack, member)
    mine = bearer(member["id"], ["member"], ["main"])
    url = f"/childcare/rounds/{_ROUNDS[member['id']]}/answer"
    assert (await stack.members_http.put(url, json={}, headers=mine)).status_code == 200


def _round(member: dict) -> dict[str, str]:
    return {"round_id": _ROUNDS[member["id"]]}


async def _with_bill(stack: Stack, member: dict) -> None:
    ctx = stack.members.context
    found = await ctx.members.store.require(member["id"])
    assert await ctx.dues.open_bill(found, MONTH, ctx.dues.policy.dues(SALARY), Actor("test"))


async def _with_payment(stack: Stack, member: dict) -> None:
    await _with_bill(stack, member)
    body = {
        "member_id": member["id"],
        "month": MONTH,
        "amount_fen": 100,
        "idempotency_key": f"matrix-{member['id']}",
    }
    response = await stack.members_http.post("/dues/payments", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text  # entry 2 of the month's account


def _payment(staff_no: str) -> dict:
    return {
        "member_id": member_id_for(staff_no),
        "month": MONTH,
        "amount_fen": 100,
        "idempotency_key": f"matrix-{uuid.uuid4().hex}",
    }


def _payment_list(staff_no: str) -> dict:
    text = f"工号,月份,金额（分）\n{staff_no},{MONTH},100\n"
    return {"file": ("缴费明细.csv", text.encode("gbk"), "text/csv")}


# The group leader, the two-campus cadre and the chair carry the member role in tokens whose
# subject is no member of this test: a route for "my own" answers them 404.
NO_SUCH_MEMBER = {"group_leader": 404, "multi_campus": 404, "chair": 404}
FINANCE_READS = expect(403, finance=200, auditor=200, admin=200)
OWN_OR_FINANCE = expect(403, self=200, finance=200, auditor=200, admin=200)

ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/healthz"): Row("none", PUBLIC),
    ("GET", "/readyz"): Row("none", PUBLIC),
    ("GET", "/metrics"): Row("none", PUBLIC),
    ("GET", "/.well-known/jwks.json"): Row("none", PUBLIC),
    # -- members --
    ("POST", "/members"): Row("none", expect(403, cadre=201, admin=201), body=_fresh),
    ("POST", "/applications"): Row(
        "none",
        expect(201, cadre_other_campus=403, finance=403, auditor=403),
        body=_fresh,
    ),
    ("GET", "/members"): Row("active", expect(403, cadre=200, cadre_other_campus=200, admin=200)),
    ("GET", "/members/{member_id}"): Row(
        "active",
        expect(200, other_member=403, cadre_other_campus=404, system=403),
    ),
    ("PATCH", "/members/{member_id}"): Row(
        "active", CADRE_OF_CAMPUS, body=lambda _: {"position": "教研组长"}
    ),
    ("POST", "/members/{member_id}/reveal"): Row(
        "active",
        expect(403, self=200, admin=200),
        body=lambda _: {"field": "id_number", "purpose": "核对身份"},
    ),
    ("GET", "/members/{member_id}/history"): Row("active", expect(403, auditor=200, admin=200)),
    ("POST", "/members/{member_id}/approve"): Row("applied", CADRE_OF_CAMPUS),
    ("POST", "/members/{member_id}/reject"): Row(
        "applied", CADRE_OF_CAMPUS, body=lambda _: {"reason": "材料不全"}
    ),
    ("POST", "/members/{member_id}/reapply"): Row("withdrawn", CADRE_OF_CAMPUS),
    ("POST", "/members/{member_id}/withdraw"): Row("active", CADRE_OF_CAMPUS),
    ("POST", "/members/{member_id}/retire"): Row("active", CADRE_OF_CAMPUS),
    ("POST", "/members/{member_id}/decease"): Row("active", CADRE_OF_CAMPUS),
    ("POST", "/members/{member_id}/transfer"): Row(
        # A cadre of main only may not move someone into east: both campuses are needed.
        "active",
        expect(
            403,
            cadre_other_campus=404,
            admin=200,
            multi_campus=200,
            cadre_west=403,
            cadre_north=403,
        ),
        body=lambda _: {"to_campus": "east"},
    ),
    ("PATCH", "/members/{member_id}/contact"): Row(
        "active",
        expect(403, self=200, cadre=200, cadre_other_campus=404, admin=200),
        # One id per call: a WeCom id is one member's (wecom-signin: 409 when taken).
        body=lambda _: {"wecom_userid": f"new-wecom-{uuid.uuid4().hex[:8]}"},
    ),
    ("POST", "/members/{member_id}/email/confirm"): Row(
        # Only the member, signed in, confirms (holding the mailed link is not enough); the
        # target has nothing pending, so even they are told the link is invalid.
        "active",
        expect(403, self=422),
        body=lambda _: {"token": "t" * 43},
    ),
    ("GET", "/exports/members.csv"): Row(
        "active", expect(403, cadre=200, cadre_other_campus=200, admin=200)
    ),
    ("GET", "/exports/members.xlsx"): Row(
        "active", expect(403, cadre=200, cadre_other_campus=200, admin=200)
    ),
    # -- organisation --
    ("GET", "/campuses"): Row("none", expect(200)),
    ("GET", "/campuses/{code}"): Row("none", expect(200), path={"code": "main"}),
    ("PUT", "/campuses/{code}"): Row(
        "none", expect(403, admin=200), path={"code": "main"}, body=lambda _: CAMPUS_MAIN
    ),
    # -- accounts and sign-in --
    ("POST", "/auth/login"): Row(
        "active",
        expect(401, anonymous=401),
        body=lambda staff_no: {"staff_no": staff_no, "password": "wrong-pass-1"},
        prepare=_with_password,
    ),
    ("POST", "/auth/refresh"): Row(
        "none", expect(401, anonymous=401), body=lambda _: {"refresh_token": "r" * 43}
    ),
    ("POST", "/auth/logout"): Row(
        "none", expect(204, anonymous=204), body=lambda _: {"refresh_token": "r" * 43}
    ),
    ("POST", "/auth/password"): Row(
        # The member themself with the current password; another member has no account; an
        # admin's service token is nobody's account.
        "active",
        # A cadre's token whose subject has no account is not found either.
        expect(403, self=200, other_member=404, admin=404, group_leader=404, multi_campus=404),
        body=lambda _: {"current_password": PASSWORD, "new_password": "wo-de-mima-7"},
        prepare=_with_password,
    ),
    ("POST", "/auth/login-link"): Row(
        "active", expect(202, anonymous=202), body=lambda staff_no: {"staff_no": staff_no}
    ),
    ("POST", "/auth/login-link/redeem"): Row(
        "none", expect(401, anonymous=401), body=lambda _: {"token": "t" * 43}
    ),
    ("PUT", "/members/{member_id}/password"): Row(
        "active", CADRE_OF_CAMPUS, body=lambda _: {"password": PASSWORD}
    ),
    ("GET", "/members/{member_id}/account"): Row(
        "active", expect(403, self=200, cadre=200, cadre_other_campus=404, auditor=200, admin=200)
    ),
    ("POST", "/members/{member_id}/account/unlock"): Row("active", CADRE_OF_CAMPUS),
    # -- audit --
    ("GET", "/audit"): Row("active", expect(403, auditor=200, admin=200)),
    # -- bulk import (a dry run: rows of another campus are refused in the report, not here) --
    ("POST", "/imports"): Row(
        "none", expect(403, cadre=202, cadre_other_campus=202, admin=202), files=_member_list
    ),
    ("GET", "/imports/{import_id}"): Row("none", CADRE_OF_CAMPUS, prepare=_an_import),
    # -- childcare survey (入园入托统计) --
    ("POST", "/childcare/rounds"): Row(
        "none",
        expect(403, cadre=201, admin=201),  # the east cadre may not open main's round
        body=lambda _: {"campus": "main", "survey_date": _new_day().isoformat()},
    ),
    ("GET", "/childcare/rounds"): Row("none", expect(200)),
    ("GET", "/childcare/rounds/{round_id}"): Row(
        "active", expect(200, cadre_other_campus=404), prepare=_with_round, path_of=_round
    ),
    ("POST", "/childcare/rounds/{round_id}/close"): Row(
        "active", CADRE_OF_CAMPUS, prepare=_with_round, path_of=_round
    ),
    ("PUT", "/childcare/rounds/{round_id}/answer"): Row(
        # Every member answers for themself (the other member too, in their own name).
        "active",
        # Tokens with the member role whose subject is no member: not found.
        expect(403, self=200, other_member=200, **NO_SUCH_MEMBER),
        body=lambda _: {},
        prepare=_with_round,
        path_of=_round,
    ),
    ("GET", "/childcare/rounds/{round_id}/answer"): Row(
        "active",
        expect(403, self=200, other_member=404, **NO_SUCH_MEMBER),
        prepare=_with_answer,
        path_of=_round,
    ),
    ("GET", "/childcare/rounds/{round_id}/unanswered"): Row(
        "active", CADRE_OF_CAMPUS, prepare=_with_round, path_of=_round
    ),
    ("GET", "/childcare/rounds/{round_id}/stats"): Row(
        "active", CADRE_OF_CAMPUS, prepare=_with_answer, path_of=_round
    ),
    ("GET", "/childcare/rounds/{round_id}/stats.csv"): Row(
        "active", CADRE_OF_CAMPUS, prepare=_with_answer, path_of=_round
    ),
    ("GET", "/members/{member_id}/children"): Row("active", expect(403, self=200, admin=200)),
    ("PUT", "/members/{member_id}/children"): Row(
        "active",
        expect(403, self=200, admin=200),
        body=lambda _: {
            "children": [
                {"name": "小明", "birth_date": "2021-05-01", "care_status": "kindergarten"}
            ]
        },
    ),
    # -- dues (会费) --
    ("POST", "/dues/bills/generate"): Row(
        "active", expect(403, finance=200, admin=200), body=lambda _: {"month": MONTH}
    ),
    ("GET", "/dues/bills"): Row("active", FINANCE_READS),
    ("GET", "/dues/bills/{month}/{member_id}"): Row(
        "active", OWN_OR_FINANCE, path={"month": MONTH}, prepare=_with_bill
    ),
    ("GET", "/dues/members/{member_id}"): Row("active", OWN_OR_FINANCE, prepare=_with_bill),
    ("POST", "/dues/payments"): Row(
        "active", expect(403, finance=201, admin=201), body=_payment, prepare=_with_bill
    ),
    ("POST", "/dues/payments/import"): Row(
        "active", expect(403, finance=200, admin=200), files=_payment_list, prepare=_with_bill
    ),
    ("POST", "/dues/bills/{month}/{member_id}/entries/{seq}/reverse"): Row(
        "active",
        expect(403, finance=201, admin=201),
        body=lambda _: {"reason": "重复登记"},
        path={"month": MONTH, "seq": "2"},
        prepare=_with_payment,
    ),
    ("GET", "/dues/arrears"): Row("active", FINANCE_READS),
    ("GET", "/dues/arrears.csv"): Row("active", FINANCE_READS),
}

# wecom-signin: public, the code is the credential; this stack has WeCom sign-in off, so every
# caller gets 404 auth.wecom_disabled (the answers with it on: test_wecom_signin.py).
WECOM_SIGNIN: dict[tuple[str, str], Row] = {
    ("POST", "/auth/wecom"): Row(
        "none", expect(404, anonymous=404), body=lambda _: {"code": "c" * 32}
    ),
}
ROWS.update(WECOM_SIGNIN)


def routes_of_the_app() -> set[tuple[str, str]]:
    spec = bootstrap(configure_logs=False).app.openapi()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def test_every_route_has_a_row():
    routes = routes_of_the_app()
    missing = sorted(routes - ROWS.keys())
    assert not missing, f"routes without a row in the authorization matrix: {missing}"
    assert not sorted(ROWS.keys() - routes), "rows for routes that no longer exist"


def test_an_auditor_changes_nothing():
    """Every route that writes and needs a token answers 403 to an auditor."""
    spec = bootstrap(configure_logs=False).app.openapi()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "get" or "security" not in op:
                continue
            assert ROWS[(method.upper(), path)].expected["auditor"] == 403, f"{method} {path}"


@pytest.fixture(scope="module")
async def members_only(infra) -> AsyncIterator[Stack]:
    stack = await build_stack(infra, ["members"])
    try:
        yield stack
    finally:
        await close(stack)


async def enrol(stack: Stack, state: str) -> dict:
    staff_no = f"Z{uuid.uuid4().hex[:8].upper()}"
    body = {
        "staff_no": staff_no,
        "name": "目标",
        "campus": "main",
        "department": "艺术系",
        "phone": PHONE,
        "email": EMAIL,
        "id_number": ID_NUMBER,
        "salary_base_fen": SALARY,
        "as_applicant": state == "applied",
    }
    response = await stack.members_http.post("/members", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    member = response.json()
    if state == "withdrawn":
        out = await stack.members_http.post(f"/members/{member['id']}/withdraw", headers=ADMIN)
        assert out.status_code == 200, out.text
        member = out.json()
    return member


def body_text(response: httpx.Response) -> str:
    """What a person would read in the answer: an XLSX workbook's cells, else the text."""
    if response.headers.get("content-type", "").startswith(XLSX):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            str(value)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value is not None
        )
    return response.text


def leaked(persona: str, response: httpx.Response) -> list[str]:
    text = body_text(response)
    return [name for name, value in SECRETS.items() if value in text and persona not in SEES[name]]


@pytest.mark.parametrize("route", sorted(ROWS), ids=lambda r: f"{r[0]} {r[1]}")
async def test_the_matrix(members_only: Stack, route: tuple[str, str]):
    stack = members_only
    method, template = route
    row = ROWS[route]
    other = await enrol(stack, "active")
    state = row.state if row.state != "none" else "active"

    async def target_for_the_row() -> dict:
        target = await enrol(stack, state)
        if row.prepare:
            await row.prepare(stack, target)
        return target

    shared = await target_for_the_row()
    got: dict[str, int] = {}
    for persona in PERSONAS:
        # A caller who may change the target gets one of its own, in the state the route
        # needs (a cadre's approval must not leave the admin an approved member); the others
        # share one, whose version proves they changed nothing.
        changes = method != "GET" and 200 <= row.expected[persona] < 300
        target = await target_for_the_row() if changes else shared
        params = {"member_id": target["id"], **row.path, **MADE}
        path = template.format(**params, **(row.path_of(target) if row.path_of else {}))
        response = await stack.members_http.request(
            method,
            path,
            json=row.body(target["staff_no"]) if row.body else None,
            files=row.files(target["staff_no"]) if row.files else None,
            headers=headers_for(persona, target["id"], other["id"]),
        )
        got[persona] = response.status_code
        assert not leaked(persona, response), (persona, path, leaked(persona, response))
    after = await stack.members.context.members.store.get(shared["id"])
    assert after is not None and after.version == shared["version"], "a refused call changed it"
    assert got == row.expected, f"{method} {template}"


async def test_a_member_reads_only_their_own_record(members_only: Stack):
    stack = members_only
    mine, theirs = await enrol(stack, "active"), await enrol(stack, "active")
    headers = headers_for("self", mine["id"], theirs["id"])
    own = await stack.members_http.get(f"/members/{mine['id']}", headers=headers)
    assert own.status_code == 200 and own.json()["phone"] == PHONE
    assert own.json()["salary_base_fen"] == SALARY
    assert own.json()["id_number"] == "1101**********0012"  # masked even for the member
    other = await stack.members_http.get(f"/members/{theirs['id']}", headers=headers)
    assert other.status_code == 403
    assert (await stack.members_http.get("/members", headers=headers)).status_code == 403


async def test_a_campus_cadre_sees_only_their_campus_and_masked(members_only: Stack):
    stack = members_only
    main = await enrol(stack, "active")
    cadre = headers_for("cadre", "", "")
    east = headers_for("cadre_other_campus", "", "")

    async def listed() -> bool:
        response = await stack.members_http.get(
            "/members", params={"q": main["staff_no"]}, headers=cadre
        )
        return response.json()["total"] == 1

    await wait_until(listed, 15, "the member in the list view")
    [seen] = (
        await stack.members_http.get("/members", params={"q": main["staff_no"]}, headers=cadre)
    ).json()["items"]
    assert seen["phone"] == "139****5678" and seen["email"] == "s***@school.local"
    assert seen["id_number"] == "1101**********0012" and seen["salary_base_fen"] is None
    from_east = await stack.members_http.get(
        "/members", params={"q": main["staff_no"]}, headers=east
    )
    assert from_east.json()["total"] == 0
    forbidden = await stack.members_http.get("/members", params={"campus": "main"}, headers=east)
    assert forbidden.status_code == 403
    for export in ("/exports/members.csv", "/exports/members.xlsx"):
        params = {"q": main["staff_no"]}
        text = body_text(await stack.members_http.get(export, params=params, headers=cadre))
        assert main["staff_no"] in text and "139****5678" in text and PHONE not in text
        assert EMAIL not in text and ID_NUMBER not in text and str(SALARY) not in text
        text = body_text(await stack.members_http.get(export, params=params, headers=east))
        assert main["staff_no"] not in text
    audit = await stack.members_http.get(
        "/audit", params={"member": main["id"]}, headers=headers_for("auditor", "", "")
    )
    [joined] = audit.json()["items"]
    assert joined["action"] == "join" and joined["changed"]["phone"]["to"] == "139****5678"
    assert joined["changed"]["id_number"] == {"from": "***", "to": "***"}
    east_auditor = bearer("auditor-east", ["auditor"], ["east"])
    audit = await stack.members_http.get(
        "/audit", params={"member": main["id"]}, headers=east_auditor
    )
    assert audit.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


# -- targets that hold union roles, on other campuses ------------------------------------------
# The routes that could let a caller sign in as someone or put them out of office, against a
# target who holds more than a cadre does: the school union's chair (admin of every campus,
# on main) and east's finance officer. A row: target -> {persona: status}.
ROLE_TARGETS = {
    "chair_main": ("main", ["chair"]),
    "finance_east": ("east", ["finance"]),
}
TAKEOVER_ROUTES: dict[tuple[str, str], Callable[[str], Any] | None] = {
    ("PATCH", "/members/{member_id}/contact"): lambda _: {"email": "taken@school.local"},
    ("PUT", "/members/{member_id}/password"): lambda _: {"password": PASSWORD},
    ("POST", "/members/{member_id}/withdraw"): None,
    ("POST", "/members/{member_id}/retire"): None,
    ("POST", "/members/{member_id}/decease"): None,
    ("PATCH", "/members/{member_id}"): lambda _: {"roles": []},
}
TAKEOVER_PERSONAS = ("cadre", "cadre_other_campus", "multi_campus", "chair", "admin")
# What each caller gets against each target, on every route above. A cadre covers neither the
# chair nor a finance officer (sec-privilege's covers rule: 403 where the target is in scope).
ROLE_EXPECTED = {
    "chair_main": {
        "cadre": 403,
        "cadre_other_campus": 404,
        "multi_campus": 403,
        "chair": 200,
        "admin": 200,
    },
    "finance_east": {
        "cadre": 404,
        "cadre_other_campus": 403,
        "multi_campus": 403,
        "chair": 200,
        "admin": 200,
    },
}


async def role_holder(stack: Stack, campus: str, roles: list[str]) -> dict:
    body = {
        "staff_no": f"R{uuid.uuid4().hex[:8].upper()}",
        "name": "职务",
        "campus": campus,
        "department": "艺术系",
        "email": f"r{uuid.uuid4().hex[:6]}@school.local",
        "roles": roles,
    }
    response = await stack.members_http.post("/members", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


# A cadre may not change a role holder's contact nor end their office unless they hold what
# that person holds (the covers rule, membership/grants.py): one check for every route here.
ROLE_CASES = [
    pytest.param(
        target,
        route,
        id=f"{target}-{route[0]} {route[1]}",
    )
    for target in sorted(ROLE_TARGETS)
    for route in sorted(TAKEOVER_ROUTES)
]


@pytest.mark.parametrize(("target_kind", "route"), ROLE_CASES)
async def test_role_holders_on_other_campuses(members_only: Stack, target_kind, route):
    stack = members_only
    method, template = route
    campus, roles = ROLE_TARGETS[target_kind]
    body = TAKEOVER_ROUTES[route]
    got = {}
    for persona in TAKEOVER_PERSONAS:
        target = await role_holder(stack, campus, roles)  # fresh: a success changes it
        response = await stack.members_http.request(
            method,
            template.format(member_id=target["id"]),
            json=body(target["staff_no"]) if body else None,
            headers=headers_for(persona, target["id"], target["id"]),
        )
        got[persona] = response.status_code
    assert got == ROLE_EXPECTED[target_kind], f"{method} {template} on {target_kind}"

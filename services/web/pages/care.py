"""Condolences and birthdays (慰问与生日福利) in the browser.

Member (phone): my cases and benefits, and the birthday gift choice (/m/care). Cadre desk
(/admin/care): cases with their steps (raise, approve, pay, visit record), the donors of a
blood drive raised automatically, and the hardship register. Every page calls welfare's API
as the signed-in person: the service decides who may see and do what.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, StaffVisit, Visit, redirect
from shared.errors import Invalid
from shared.parsing import yuan_to_fen
from shared.vocabulary.welfare import CaseKind, CaseSource, CaseStatus

member_router = APIRouter(prefix="/m")
admin_router = APIRouter(prefix="/admin/care")

CaseId = Annotated[str, Path(pattern=r"^c-[0-9a-f]{12}$")]
BenefitId = Annotated[str, Path(pattern=r"^b-20[0-9]{2}-[A-Za-z0-9_.:-]{1,64}$")]
Field = Annotated[str, Form(max_length=500)]
Filter = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]*$")]
KINDS = CaseKind.labels()
STATUSES = CaseStatus.labels()
SOURCES = CaseSource.labels()
STEP_NAMES = {"approve": "批准", "decline": "不予批准", "cancel": "撤销", "pay": "发放并记账"}
# Who takes each step (welfare's cases/handlers.py decides; the page only leaves out the
# buttons a person would be refused, so the auditor reads with none that changes anything).
STEP_ROLES = {"approve": "admin", "decline": "admin", "cancel": "admin", "pay": "finance"}


def steps_for(open_steps: list[str], has: Callable[..., bool]) -> list[str]:
    """The case's open steps this person may take (`has`: the session's role check)."""
    return [s for s in open_steps if s in STEP_ROLES and has(STEP_ROLES[s])]


# -- member (phone) ---------------------------------------------------------------------------


@member_router.get("/care")
async def my_care(visit: MemberVisit, error: str | None = None) -> Response:
    """我的慰问与生日福利; role: member."""
    cases, birthdays = await asyncio.gather(
        visit.get("welfare", "/cases", params={"limit": 50}),
        visit.get("welfare", "/birthdays/mine"),
    )
    return visit.render(
        "m/care.html", cases=cases["items"], birthdays=birthdays, error=error, tab="home"
    )


@member_router.post("/care/birthdays/{benefit_id}")
async def choose_gift(
    visit: MemberVisit, benefit_id: BenefitId, gift: Annotated[str, Form(max_length=32)] = ""
) -> Response:
    """选择生日礼品; role: the member."""
    try:
        await visit.post("welfare", f"/birthdays/{benefit_id}/choice", json={"gift": gift})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await my_care(visit, error=exc.message)
    return redirect("/m/care?chosen=1")


# -- cadre desk -------------------------------------------------------------------------------


async def cases_page(
    visit: Visit,
    status: str | None = None,
    source: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    params = {"status": status or None, "source": source or None, "limit": 200}
    page = await visit.get("welfare", "/cases", params=params)
    donors = [c for c in page["items"] if c["source"] == "blood_donation"]
    return visit.render(
        "admin/care.html",
        status_code=status_code,
        page=page,
        donors=donors,
        kinds=KINDS,
        statuses=STATUSES,
        sources=SOURCES,
        status=status,
        source=source,
        error=error,
        form=form or {},
        section="care",
    )


@admin_router.get("")
async def cases(visit: StaffVisit, status: Filter = None, source: Filter = None) -> Response:
    """慰问事项: the list, the blood-drive donors, the form to raise one; role: cadre."""
    return await cases_page(visit, status, source)


@admin_router.post("/cases")
async def raise_case(
    visit: StaffVisit,
    member_id: Field = "",
    kind: Field = "",
    amount: Field = "",
    summary: Field = "",
    occurred_on: Field = "",
) -> Response:
    """登记慰问事项; role: cadre of the member's campus."""
    form = {
        "member_id": member_id,
        "kind": kind,
        "amount": amount,
        "summary": summary,
        "occurred_on": occurred_on,
    }
    try:
        body = {
            "member_id": member_id.strip(),
            "kind": kind,
            "amount_fen": yuan_to_fen(amount.strip() or "0", "金额"),
            "summary": summary.strip(),
            "occurred_on": occurred_on.strip(),
        }
        made = await visit.post("welfare", "/cases", json=body)
    except (ApiError, Invalid) as exc:
        if isinstance(exc, ApiError) and exc.status not in (404, 409, 422):
            raise
        return await cases_page(visit, error=exc.message, form=form, status_code=409)
    return redirect(f"/admin/care/cases/{made['id']}")


async def case_page(
    visit: Visit,
    case_id: str,
    error: str | None = None,
    status_code: int = 200,
    recorded: str | None = None,
) -> Response:
    case = await visit.get("welfare", f"/cases/{case_id}")
    try:
        # `recorded`: the visit this cadre has just written, listed even before the list
        # view has it (welfare reads it by key).
        query = {"recorded": recorded} if recorded else None
        visits = await visit.get("welfare", f"/cases/{case_id}/visits", params=query)
    except ApiError as exc:
        if exc.status != 403:
            raise
        visits = None  # finance reads the case, not the visit notes
    return visit.render(
        "admin/care_case.html",
        status_code=status_code,
        c=case,
        visits=visits,
        steps=STEP_NAMES,
        mine=steps_for(case["steps"], visit.session.has if visit.session else lambda *_: False),
        error=error,
        section="care",
    )


@admin_router.get("/cases/{case_id}")
async def case(
    visit: StaffVisit,
    case_id: CaseId,
    recorded: Annotated[str | None, Query(pattern=r"^v-[0-9a-f]{12}$")] = None,
) -> Response:
    """一个慰问事项: its steps and visits; role: cadre / finance / auditor of the member's campus."""
    return await case_page(visit, case_id, recorded=recorded)


# Before the steps' route: "visits" is no step, and that route would refuse it (400).
@admin_router.post("/cases/{case_id}/visits")
async def record_visit(
    visit: StaffVisit,
    case_id: CaseId,
    visitors: Field = "",
    visited_on: Field = "",
    brought: Field = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """走访记录 (notes sealed); role: cadre of the member's campus."""
    names = [n.strip() for n in visitors.replace("，", ",").split(",") if n.strip()]
    body = {
        "visitors": names,
        "visited_on": visited_on.strip(),
        "brought": brought.strip(),
        "notes": notes.strip() or None,
    }
    try:
        made = await visit.post("welfare", f"/cases/{case_id}/visits", json=body)
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return await case_page(visit, case_id, error=exc.message, status_code=exc.status)
    return redirect(f"/admin/care/cases/{case_id}?recorded={made['id']}")


@admin_router.post("/cases/{case_id}/{step}")
async def step(
    visit: StaffVisit,
    case_id: CaseId,
    step: Annotated[str, Path(pattern=r"^(approve|decline|cancel|pay)$")],
    note: Field = "",
    voucher_no: Field = "",
) -> Response:
    """批准 / 不予批准 / 撤销 (the chair), 发放 (finance); the service checks who."""
    if step == "pay":
        body: dict[str, Any] = {"voucher_no": voucher_no.strip() or None}
    elif step == "approve":
        body = {"note": note.strip() or None}
    else:
        body = {"note": note.strip() or "—"}
    try:
        await visit.post("welfare", f"/cases/{case_id}/{step}", json=body)
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return await case_page(visit, case_id, error=exc.message, status_code=exc.status)
    return redirect(f"/admin/care/cases/{case_id}")


@admin_router.get("/hardship")
async def hardship(visit: StaffVisit, error: str | None = None) -> Response:
    """困难职工档案; role: cadre (the chair and the campus's cadres)."""
    files = await visit.get("welfare", "/hardship")
    return visit.render("admin/hardship.html", files=files, error=error, section="care")


@admin_router.post("/hardship")
async def open_file(
    visit: StaffVisit, member_id: Field = "", level: Field = "", reason: Field = ""
) -> Response:
    """建档; role: cadre of the member's campus."""
    body = {"member_id": member_id.strip(), "level": level, "reason": reason.strip()}
    try:
        await visit.post("welfare", "/hardship", json=body)
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return await hardship(visit, error=exc.message)
    return redirect("/admin/care/hardship")

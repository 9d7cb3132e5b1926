"""Condolences and birthdays (慰问与生日福利) in the browser.

Member (phone): my cases and benefits, the birthday gift choice, and a case raised for
themself (/m/care). Cadre desk (/admin/care): cases with their steps (raise, approve, pay,
visit record), the donors of a blood drive raised automatically, and the hardship register
with each file's help and yearly reviews. Every page calls welfare's API as the signed-in
person: the service decides who may see and do what.
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
from shared.timeutil import local_today
from shared.vocabulary.welfare import (
    MEMBER_KINDS,
    CaseKind,
    CaseSource,
    CaseStatus,
    HardshipLevel,
    ReviewOutcome,
)

member_router = APIRouter(prefix="/m")
admin_router = APIRouter(prefix="/admin/care")

CaseId = Annotated[str, Path(pattern=r"^c-[0-9a-f]{12}$")]
BenefitId = Annotated[str, Path(pattern=r"^b-20[0-9]{2}-[A-Za-z0-9_.:-]{1,64}$")]
FileId = Annotated[str, Path(pattern=r"^h-[A-Za-z0-9_.:-]{1,64}$")]
Field = Annotated[str, Form(max_length=500)]
Filter = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]*$")]
KINDS = CaseKind.labels()
STATUSES = CaseStatus.labels()
SOURCES = CaseSource.labels()
# What a member may raise for themself (welfare refuses the other kinds from a member).
MEMBER_RAISES = {k: v for k, v in KINDS.items() if k in MEMBER_KINDS}
LEVELS = HardshipLevel.labels()
OUTCOMES = ReviewOutcome.labels()
HARDSHIP_DONE = {"help": "已记录帮扶", "review": "已记录年度复核"}
STEP_NAMES = {"approve": "批准", "decline": "不予批准", "cancel": "撤销", "pay": "发放并记账"}
# Who takes each step (welfare's cases/handlers.py decides; the page only leaves out the
# buttons a person would be refused, so the auditor reads with none that changes anything).
STEP_ROLES = {"approve": "admin", "decline": "admin", "cancel": "admin", "pay": "finance"}


def steps_for(open_steps: list[str], has: Callable[..., bool]) -> list[str]:
    """The case's open steps this person may take (`has`: the session's role check)."""
    return [s for s in open_steps if s in STEP_ROLES and has(STEP_ROLES[s])]


# -- member (phone) ---------------------------------------------------------------------------


async def my_care_page(
    visit: Visit,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    flash: str | None = None,
) -> Response:
    cases, birthdays = await asyncio.gather(
        # Their own cases: a cadre's token reads the campus's, not for this page.
        visit.get("welfare", "/cases", params={"member_id": visit.member_id, "limit": 50}),
        visit.get("welfare", "/birthdays/mine"),
    )
    return visit.render(
        "m/care.html",
        status_code=status_code,
        cases=cases["items"],
        birthdays=birthdays,
        kinds=MEMBER_RAISES,
        form=form or {},
        error=error,
        flash=flash,
        tab="home",
    )


@member_router.get("/care")
async def my_care(
    visit: MemberVisit,
    raised: Annotated[int | None, Query(ge=1, le=1)] = None,
    chosen: Annotated[int | None, Query(ge=1, le=1)] = None,
) -> Response:
    """我的慰问与生日福利, and the form to apply for a case; role: member."""
    flash = "慰问申请已提交，请等待工会审批" if raised else None
    if chosen:
        flash = "已选择，届时按所选礼品发放"
    return await my_care_page(visit, flash=flash)


@member_router.post("/care/cases")
async def apply_case(
    visit: MemberVisit,
    kind: Field = "",
    amount: Field = "",
    summary: Field = "",
    occurred_on: Field = "",
) -> Response:
    """申请慰问 for oneself (the kinds welfare lets a member raise); role: member."""
    form = {"kind": kind, "amount": amount, "summary": summary, "occurred_on": occurred_on}
    try:
        body = {
            "member_id": visit.member_id,
            "kind": kind,
            "amount_fen": yuan_to_fen(amount.strip(), "申请金额"),
            "summary": summary.strip(),
            "occurred_on": occurred_on.strip(),
        }
        await visit.post("welfare", "/cases", json=body)
    except (ApiError, Invalid) as exc:
        if isinstance(exc, ApiError) and exc.status not in (403, 409, 422):
            raise
        code = exc.status if isinstance(exc, ApiError) else 422
        return await my_care_page(visit, error=exc.message, form=form, status_code=code)
    return redirect("/m/care?raised=1")


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
        return await my_care_page(visit, error=exc.message)
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


async def hardship_page(
    visit: Visit,
    error: str | None = None,
    status_code: int = 200,
    changed: str | None = None,
    flash: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    files = await visit.get("welfare", "/hardship")
    if changed:
        # The file just written, read by key: the list view may not have the change yet.
        fresh = await visit.get("welfare", f"/hardship/{changed}")
        files = [fresh if f["id"] == changed else f for f in files]
        if all(f["id"] != changed for f in files):
            files.insert(0, fresh)
    return visit.render(
        "admin/hardship.html",
        status_code=status_code,
        files=files,
        levels=LEVELS,
        outcomes=OUTCOMES,
        year=local_today().year,
        today=local_today().isoformat(),
        form=form or {},
        error=error,
        flash=flash,
        section="care",
    )


@admin_router.get("/hardship")
async def hardship(
    visit: StaffVisit,
    changed: Annotated[str | None, Query(pattern=r"^h-[A-Za-z0-9_.:-]{1,64}$")] = None,
    done: Annotated[str | None, Query(pattern=r"^(help|review)$")] = None,
) -> Response:
    """困难职工档案, each file's help and reviews; role: cadre (the chair and campus cadres)."""
    return await hardship_page(visit, changed=changed, flash=HARDSHIP_DONE.get(done or ""))


@admin_router.post("/hardship")
async def open_file(
    visit: StaffVisit, member_id: Field = "", level: Field = "", reason: Field = ""
) -> Response:
    """建档; role: cadre of the member's campus."""
    body = {"member_id": member_id.strip(), "level": level, "reason": reason.strip()}
    try:
        made = await visit.post("welfare", "/hardship", json=body)
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return await hardship_page(visit, error=exc.message)
    return redirect(f"/admin/care/hardship?changed={made['id']}")


@admin_router.post("/hardship/{file_id}/help")
async def add_help(
    visit: StaffVisit,
    file_id: FileId,
    given_on: Field = "",
    what: Field = "",
    amount: Field = "",
    case_id: Field = "",
) -> Response:
    """记录一次帮扶 (amount in yuan; 0 for help in kind); role: cadre of the member's campus."""
    form = {"file_id": file_id, "given_on": given_on, "what": what, "amount": amount}
    form["case_id"] = case_id
    try:
        body = {
            "given_on": given_on.strip(),
            "what": what.strip(),
            "amount_fen": yuan_to_fen(amount.strip() or "0", "帮扶金额"),
            "case_id": case_id.strip() or None,
        }
        await visit.post("welfare", f"/hardship/{file_id}/help", json=body)
    except (ApiError, Invalid) as exc:
        if isinstance(exc, ApiError) and exc.status not in (404, 409, 422):
            raise
        code = exc.status if isinstance(exc, ApiError) else 422
        return await hardship_page(visit, exc.message, code, form=form)
    return redirect(f"/admin/care/hardship?changed={file_id}&done=help#{file_id}")


@admin_router.post("/hardship/{file_id}/reviews")
async def review_file(
    visit: StaffVisit, file_id: FileId, year: Field = "", outcome: Field = "", note: Field = ""
) -> Response:
    """年度复核, once a year per file; role: cadre of the member's campus."""
    form = {"file_id": file_id, "year": year, "outcome": outcome, "note": note}
    body = {"year": year.strip(), "outcome": outcome, "note": note.strip()}
    try:
        await visit.post("welfare", f"/hardship/{file_id}/reviews", json=body)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await hardship_page(visit, exc.message, exc.status, form=form)
    return redirect(f"/admin/care/hardship?changed={file_id}&done=review#{file_id}")

"""The finance desk (经费) under /admin/funds, and 经费公开 under /m/funds.

Finance, the auditor and the chair open the same pages; what each may do is the welfare
service's to decide (it refuses the others), and the pages show only the buttons of the
caller's roles: finance records income and payments and reverses entries, the chair adopts
and amends the budget, the auditor reads, checks and exports. Every member reads this year's
budget against actual spending per line on their phone (no entry, no person).
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.charts import budget_chart
from services.web.context import MemberVisit, StaffVisit, Visit, redirect
from shared.errors import DomainError
from shared.parsing import yuan_to_fen
from shared.timeutil import local_today

router = APIRouter()

PAGE = 50
CAMPUS = r"^[a-z][a-z0-9-]{0,31}$"
LINE = r"^[a-z][a-z0-9_]{0,63}$"
CampusQuery = Annotated[str | None, Query(pattern=CAMPUS)]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
CampusForm = Annotated[str, Form(pattern=CAMPUS)]
YearForm = Annotated[int, Form(ge=2000, le=2100)]
Text = Annotated[str, Form(min_length=1, max_length=200)]
# The ledger's type filter: the page's option (kept short in its address) → its label and the
# entry kind the welfare API filters by, which has its own names for the budget's entries.
KINDS: dict[str, tuple[str, str]] = {
    "income": ("收入", "income"),
    "payment": ("支出", "payment"),
    "reversal": ("冲正", "reversal"),
    "budget": ("预算批准", "budget_adopted"),
    "amendment": ("预算调整", "budget_amended"),
}
KIND = rf"^({'|'.join(KINDS)})?$"
FLASH = {
    "adopted": "预算已批准",
    "amended": "预算调整已记录",
    "income": "收入已记账",
    "payment": "支出已记账",
    "reversed": "已冲正（原记录保留）",
}


def new_key() -> str:
    """The idempotency key a form carries: the same form sent twice records once."""
    return f"web-{secrets.token_hex(10)}"


async def my_campuses(visit: Visit) -> list[str]:
    """The campuses the caller holds (all of them for a whole-school role)."""
    assert visit.session is not None
    org = await visit.org()
    held = [c for c in visit.session.campuses if c != "*"]
    if "*" in visit.session.campuses:
        held = [c for c in org.campuses if c not in held] + held
    return held or ["main"]


async def scope(visit: Visit, campus: str | None, year: int | None) -> tuple[str, int, list[str]]:
    campuses = await my_campuses(visit)
    return (campus or campuses[0]), (year or local_today().year), campuses


def roles(visit: Visit) -> dict[str, bool]:
    """Which buttons to show (the service refuses the rest anyway)."""
    assert visit.session is not None
    return {
        "finance": visit.session.has("finance"),
        "chair": "admin" in visit.session.roles,
    }


# -- budgets ----------------------------------------------------------------------------------


@router.get("/admin/funds")
async def budgets(
    visit: StaffVisit, campus: CampusQuery = None, year: YearQuery = None, msg: str | None = None
) -> Response:
    """预算执行: budget against actual per line with its chart, income from dues; role:
    finance, auditor or the chair of the campus."""
    c, y, campuses = await scope(visit, campus, year)
    return await budget_view(visit, c, y, campuses, flash=FLASH.get(msg or ""))


async def budget_view(
    visit: Visit,
    campus: str,
    year: int,
    campuses: list[str],
    *,
    flash: str | None = None,
    error: str | None = None,
) -> Response:
    found, chart = await asyncio.gather(
        visit.get("welfare", f"/funds/budgets/{campus}/{year}"),
        visit.get("welfare", "/funds/chart"),
    )
    lines = found["lines"]
    spending = [line for line in lines if line["kind"] == "spending"]
    leaves = [line for line in spending if line["parent"] is not None]
    income = [line for line in lines if line["kind"] == "income"]
    postable: dict[str, list[dict[str, Any]]] = {"spending": [], "income": []}
    for line in chart["lines"]:
        if line["postable"]:
            postable[line["kind"]].append(line)
    return visit.render(
        "funds/budgets.html",
        status_code=409 if error else 200,
        b=found,
        campus=campus,
        year=year,
        campuses=campuses,
        chart=budget_chart(leaves, f"{year} 年支出预算执行"),
        spending=spending,
        income=income,
        dues=next((line for line in income if line["code"] == "income_dues"), None),
        postable=postable,
        can=roles(visit),
        key=new_key(),
        flash=flash,
        error=error,
        section="funds",
    )


def fen_in(value: str, what: str, negative: bool = False) -> int:
    return yuan_to_fen(value.strip(), what, negative=negative)


@router.post("/admin/funds/adopt")
async def adopt(visit: StaffVisit, campus: CampusForm, year: YearForm, note: Text) -> Response:
    """预算批准 from the form (元 per line); role: the chair (admin) of the campus."""
    form = await visit.request.form()
    try:
        lines = {
            name.removeprefix("line_"): fen_in(str(value), "预算")
            for name, value in form.items()
            if name.startswith("line_") and str(value).strip()
        }
        body = {"lines": lines, "note": note.strip()}
        await visit.post("welfare", f"/funds/budgets/{campus}/{year}", json=body)
    except (ApiError, DomainError) as exc:
        return await refused(visit, exc, campus, year)
    return redirect(f"/admin/funds?campus={campus}&year={year}&msg=adopted")


@router.post("/admin/funds/amend")
async def amend(
    visit: StaffVisit,
    campus: CampusForm,
    year: YearForm,
    line: Annotated[str, Form(pattern=LINE)],
    change: Annotated[str, Form(max_length=32)],
    reason: Text,
    key: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{8,64}$")],
) -> Response:
    """预算调整 of one line with its reason (元, negative lowers it); role: the chair."""
    try:
        body = {
            "line": line,
            "change_fen": fen_in(change, "调整金额", negative=True),
            "reason": reason.strip(),
            "idempotency_key": key,
        }
        await visit.post("welfare", f"/funds/budgets/{campus}/{year}/amendments", json=body)
    except (ApiError, DomainError) as exc:
        return await refused(visit, exc, campus, year)
    return redirect(f"/admin/funds?campus={campus}&year={year}&msg=amended")


async def refused(
    visit: Visit, exc: Exception, campus: str, year: int, ledger: bool = False
) -> Response:
    """A form the service (or the amount's parser) refused: the page again, saying why."""
    if isinstance(exc, ApiError) and exc.status not in (409, 422):
        raise exc
    message = exc.message if isinstance(exc, ApiError | DomainError) else str(exc)
    if ledger:
        return await ledger_view(visit, campus, year, {}, 0, error=message)
    return await budget_view(visit, campus, year, await my_campuses(visit), error=message)


# -- the ledger -------------------------------------------------------------------------------


@router.get("/admin/funds/ledger")
async def ledger(
    visit: StaffVisit,
    campus: CampusQuery = None,
    year: YearQuery = None,
    kind: Annotated[str | None, Query(pattern=KIND)] = None,
    line: Annotated[str | None, Query(pattern=r"^([a-z][a-z0-9_]{0,63})?$")] = None,
    month: Annotated[str | None, Query(pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    msg: str | None = None,
) -> Response:
    """台账: the entries with filters (line, month, kind, campus) and paging; finance records
    and reverses here; role: finance, auditor or the chair of the campus."""
    c, y, _ = await scope(visit, campus, year)
    filters = {"kind": kind or None, "line": line or None, "month": month or None}
    return await ledger_view(visit, c, y, filters, offset, flash=FLASH.get(msg or ""))


async def ledger_view(
    visit: Visit,
    campus: str,
    year: int,
    filters: dict[str, str | None],
    offset: int,
    *,
    flash: str | None = None,
    error: str | None = None,
) -> Response:
    base = f"/funds/ledgers/{campus}/{year}/entries"
    kind = filters.get("kind")
    asked = {**filters, "kind": KINDS[kind][1] if kind else None}
    page, reversals, chart, campuses = await asyncio.gather(
        visit.get("welfare", base, params={**asked, "offset": offset, "limit": PAGE}),
        visit.get("welfare", base, params={"kind": "reversal", "limit": 500}),
        visit.get("welfare", "/funds/chart"),
        my_campuses(visit),
    )
    reversed_seqs = {e["reverses"] for e in reversals["entries"]}
    query = "&".join(
        f"{k}={v}" for k, v in {"campus": campus, "year": year, **filters}.items() if v
    )
    return visit.render(
        "funds/ledger.html",
        status_code=409 if error else 200,
        page=page,
        reversed=reversed_seqs,
        campus=campus,
        year=year,
        campuses=campuses,
        filters=filters,
        kinds={option: label for option, (label, _) in KINDS.items()},
        lines=chart["lines"],
        query=query,
        prev=offset - PAGE if offset > 0 else None,
        next=offset + PAGE if offset + PAGE < page["total"] else None,
        can=roles(visit),
        key=new_key(),
        today=local_today().isoformat(),
        flash=flash,
        error=error,
        section="funds",
    )


@router.post("/admin/funds/ledger/post")
async def post(
    visit: StaffVisit,
    campus: CampusForm,
    year: YearForm,
    kind: Annotated[str, Form(pattern=r"^(income|payment)$")],
    line: Annotated[str, Form(pattern=LINE)],
    amount: Annotated[str, Form(max_length=32)],
    cause: Text,
    approved_by: Annotated[str, Form(min_length=1, max_length=50)],
    voucher_no: Annotated[str, Form(min_length=1, max_length=50)],
    key: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{8,64}$")],
    occurred_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """记收入 / 记支出 (元); role: finance of the campus."""
    path = f"/funds/ledgers/{campus}/{year}/{'income' if kind == 'income' else 'payments'}"
    try:
        body = {
            "line": line,
            "amount_fen": fen_in(amount, "金额"),
            "cause": cause.strip(),
            "approved_by": approved_by.strip(),
            "voucher_no": voucher_no.strip(),
            "occurred_on": occurred_on.strip() or None,
            "idempotency_key": key,
        }
        await visit.post("welfare", path, json=body)
    except (ApiError, DomainError) as exc:
        return await refused(visit, exc, campus, year, ledger=True)
    return redirect(f"/admin/funds/ledger?campus={campus}&year={year}&msg={kind}")


@router.post("/admin/funds/ledger/reverse")
async def reverse(
    visit: StaffVisit,
    campus: CampusForm,
    year: YearForm,
    seq: Annotated[int, Form(ge=1, le=1_000_000)],
    reason: Text,
    voucher_no: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    """冲正 an entry with a reason (the entry stays; a new one undoes it); role: finance."""
    body = {"reason": reason.strip(), "voucher_no": voucher_no.strip() or None}
    try:
        path = f"/funds/ledgers/{campus}/{year}/entries/{seq}/reversal"
        await visit.post("welfare", path, json=body)
    except ApiError as exc:
        return await refused(visit, exc, campus, year, ledger=True)
    return redirect(f"/admin/funds/ledger?campus={campus}&year={year}&msg=reversed")


# -- the check and exports --------------------------------------------------------------------


@router.get("/admin/funds/check")
async def check(visit: StaffVisit, campus: CampusQuery = None, year: YearQuery = None) -> Response:
    """账簿核验: the check's answer in words (完整, or which entry broke); role: finance,
    auditor or the chair of the campus."""
    c, y, campuses = await scope(visit, campus, year)
    found = await visit.get("welfare", f"/funds/ledgers/{c}/{y}/check")
    return visit.render(
        "funds/check.html", r=found, campus=c, year=y, campuses=campuses, section="funds"
    )


async def export(visit: Visit, campus: str | None, year: int | None, fmt: str) -> Response:
    c, y, _ = await scope(visit, campus, year)
    found = await visit.get("welfare", f"/funds/ledgers/{c}/{y}/export.{fmt}", raw=True)
    return Response(
        found.content,
        media_type=found.headers.get("content-type"),
        headers={
            "Content-Disposition": found.headers.get("content-disposition", "attachment"),
            "Cache-Control": "no-store",
        },
    )


@router.get("/admin/funds/export.csv")
async def export_csv(
    visit: StaffVisit, campus: CampusQuery = None, year: YearQuery = None
) -> Response:
    """The ledger as CSV; role: finance, auditor or the chair of the campus."""
    return await export(visit, campus, year, "csv")


@router.get("/admin/funds/export.xlsx")
async def export_xlsx(
    visit: StaffVisit, campus: CampusQuery = None, year: YearQuery = None
) -> Response:
    """The ledger as XLSX; role: finance, auditor or the chair of the campus."""
    return await export(visit, campus, year, "xlsx")


# -- 经费公开 (every member, phone) -------------------------------------------------------------


@router.get("/m/funds")
async def public(visit: MemberVisit, year: YearQuery = None) -> Response:
    """经费公开: this year's budget against actual spending per line of my campus, as a
    chart; totals only, no person; role: member."""
    y = year or local_today().year
    found, _ = await asyncio.gather(visit.get("welfare", f"/funds/public/{y}"), visit.org())
    shown = [
        {
            **c,
            "chart": budget_chart(
                [line for line in c["lines"] if line["parent"] is not None], f"{y} 年经费支出"
            ),
            "headings": [line for line in c["lines"] if line["parent"] is None],
        }
        for c in found["campuses"]
    ]
    return visit.render("funds/public.html", year=y, campuses=shown, tab="home")

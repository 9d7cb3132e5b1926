"""The cadre's welfare desk (/admin/welfare): festival distribution plans — create one (or
copy last year's), approve (the chair), publish; the capped-out list; issue by department
with the printable sign-off sheet (签领单); the plan's report and its XLSX.

Every rule is the welfare service's: the page offers what the session's roles suggest and
shows a refusal's message.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from shared.parsing import yuan_to_fen
from shared.timeutil import SHANGHAI, local_today
from shared.vocabulary.welfare_plans import EntitlementStatus, Festival, GiftForm

router = APIRouter(prefix="/admin/welfare")

PlanId = Annotated[str, Path(max_length=80, pattern=r"^[A-Za-z0-9_.:-]+$")]
Campus = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
Department = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f/]+$")]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
FLASH = {
    "created": "方案已拟定，待主席批准",
    "approved": "方案已批准",
    "published": "方案已发布",
    "copied": "已从往年方案复制，请核对后报批",
}
FESTIVALS = Festival.labels()
FORMS = {f.value: f.label for f in (GiftForm.goods, GiftForm.food, GiftForm.voucher)}
PICTURES = {"goods": "🎁", "food": "🍱", "voucher": "🎟️"}
STATUS_LABELS = EntitlementStatus.labels()


def by_department(departments: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """The issue desk's rows: campus, department and counts, in name order."""
    rows = []
    for key, counts in sorted(departments.items()):
        campus, _, department = key.partition("/")
        issuable = counts.get("chosen", 0) + counts.get("open", 0)
        rows.append(
            {"campus": campus, "department": department, "counts": counts, "issuable": issuable}
        )
    return rows


async def desk_page(
    visit: Visit,
    year: int | None,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    year = year or local_today().year
    listed = await visit.get("welfare", "/welfare/plans", params={"year": year})
    earlier = await visit.get("welfare", "/welfare/plans", params={"year": year - 1})
    await visit.org()
    return visit.render(
        "admin/welfare.html",
        status_code=status_code,
        year=year,
        plans=listed["items"],
        earlier=earlier["items"],
        festivals=FESTIVALS,
        forms=FORMS,
        campuses=visit.session.campuses if visit.session else [],
        flash=flash,
        error=error,
        section="welfare",
    )


@router.get("")
async def desk(visit: StaffVisit, year: Year = None, msg: str | None = None) -> Response:
    """福利发放: the year's plans, last year's to copy, a new plan; role: cadre, finance,
    auditor or admin."""
    return await desk_page(visit, year, flash=FLASH.get(msg or ""))


async def _do(visit: Visit, path: str, body: dict[str, Any] | None) -> ApiError | None:
    """The service's refusal (shown on the page with its status), or None when done."""
    try:
        await visit.post("welfare", path, json=body)
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return exc
    return None


@router.post("/new")
async def create(
    visit: StaffVisit,
    title: Annotated[str, Form(min_length=1, max_length=60)],
    festival: Annotated[str, Form(pattern=r"^[a-z_]{1,24}$")],
    year: Annotated[int, Form(ge=2000, le=2100)],
    campus: Annotated[str, Form(pattern=r"^[a-z][a-z0-9-]{0,31}$")],
    standard: Annotated[str, Form(max_length=20)],
    deadline: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
    option1: Annotated[str, Form(min_length=1, max_length=40)],
    price1: Annotated[str, Form(max_length=20)],
    form1: Annotated[str, Form(pattern=r"^(goods|food|voucher)$")],
    option2: Annotated[str, Form(max_length=40)] = "",
    price2: Annotated[str, Form(max_length=20)] = "",
    form2: Annotated[str, Form(pattern=r"^(goods|food|voucher)$")] = "goods",
) -> Response:
    """拟定方案 from the form (two options at most here; the API takes more); role: cadre."""
    try:
        options = [_option("a", option1, price1, form1)]
        if option2.strip():
            options.append(_option("b", option2, price2, form2))
        day = datetime.strptime(deadline, "%Y-%m-%d").date()
        body = {
            "title": title.strip(),
            "festival": festival,
            "year": year,
            "campuses": [campus],
            "standard_fen": yuan_to_fen(standard, "发放标准"),
            "options": options,
            "reference_date": local_today().isoformat()
            if local_today().year == year
            else f"{year}-01-01",
            "deadline": datetime.combine(day, time(23, 59), SHANGHAI).isoformat(),
            "default_option": "a",
        }
    except (ValueError, ApiError) as exc:
        return await desk_page(
            visit, year, error=str(getattr(exc, "message", exc)), status_code=422
        )
    refused = await _do(visit, "/welfare/plans", body)
    if refused:
        return await desk_page(visit, year, error=refused.message, status_code=refused.status)
    return redirect(f"/admin/welfare?year={year}&msg=created")


def _option(code: str, name: str, price: str, form: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": name.strip(),
        "price_fen": yuan_to_fen(price, f"「{name.strip()}」价格"),
        "form": form,
        "picture": PICTURES[form],
    }


@router.post("/{plan_id}/copy")
async def copy(
    visit: StaffVisit, plan_id: PlanId, year: Annotated[int, Form(ge=2000, le=2100)]
) -> Response:
    """从往年方案复制 into `year`; role: cadre of the plan's campuses."""
    refused = await _do(visit, f"/welfare/plans/{plan_id}/copy", {"year": year})
    if refused:
        return await desk_page(visit, year, error=refused.message, status_code=refused.status)
    return redirect(f"/admin/welfare?year={year}&msg=copied")


@router.post("/{plan_id}/{step}")
async def step(
    visit: StaffVisit,
    plan_id: PlanId,
    step: Annotated[str, Path(pattern=r"^(approval|publication)$")],
) -> Response:
    """批准 (the chair) or 发布 (a cadre) a plan; role: admin / cadre of its campuses."""
    refused = await _do(visit, f"/welfare/plans/{plan_id}/{step}", None)
    if refused:
        return await plan_page(visit, plan_id, error=refused.message, status_code=refused.status)
    done = "approved" if step == "approval" else "published"
    return redirect(f"/admin/welfare/{plan_id}?msg={done}")


async def plan_page(
    visit: Visit,
    plan_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    report = await visit.get("welfare", f"/welfare/plans/{plan_id}/report")
    capped: list[dict[str, Any]] = []
    if visit.session is not None and visit.session.has("cadre"):
        try:
            capped = (await visit.get("welfare", f"/welfare/plans/{plan_id}/capped"))["items"]
        except ApiError as exc:
            if exc.status != 403:
                raise
    await visit.org()
    plan = report["plan"]
    return visit.render(
        "admin/welfare_plan.html",
        status_code=status_code,
        plan=plan,
        report=report,
        capped=capped,
        departments=by_department(report["departments"]),
        options={o["code"]: o for o in plan["options"]},
        statuses=STATUS_LABELS,
        flash=flash,
        error=error,
        section="welfare",
    )


@router.get("/{plan_id}")
async def plan(visit: StaffVisit, plan_id: PlanId, msg: str | None = None) -> Response:
    """One plan: options, report, capped-out list, issue by department; role: cadre, finance,
    auditor or admin of its campuses."""
    return await plan_page(visit, plan_id, flash=FLASH.get(msg or ""))


@router.post("/{plan_id}/issue/{campus}/{department}")
async def issue(
    visit: StaffVisit, plan_id: PlanId, campus: Campus, department: Department
) -> Response:
    """按部门发放 (the ledger is posted once per gift); role: cadre of the campus."""
    try:
        done = await visit.post(
            "welfare",
            f"/welfare/plans/{plan_id}/issues",
            json={"campus": campus, "department": department},
        )
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return await plan_page(visit, plan_id, error=exc.message, status_code=exc.status)
    note = f"{department}：本批发放 {done['issued']} 份"
    if done["skipped"]:
        note += f"，{len(done['skipped'])} 份未发放（{done['skipped'][0]['detail']}）"
    return await plan_page(visit, plan_id, flash=note)


@router.get("/{plan_id}/signoff/{campus}/{department}")
async def signoff(
    visit: StaffVisit, plan_id: PlanId, campus: Campus, department: Department
) -> Response:
    """签领单 of a department, to print; role: cadre of the campus."""
    sheet = await visit.get("welfare", f"/welfare/plans/{plan_id}/signoff/{campus}/{department}")
    await visit.org()
    return visit.render(
        "admin/welfare_signoff.html", sheet=sheet, printed=local_today(), section="welfare"
    )


async def _download(visit: Visit, path: str, name: str) -> Response:
    answer = await visit.api("welfare", "GET", path, raw=True)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type"),
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{plan_id}/report.xlsx")
async def report_xlsx(visit: StaffVisit, plan_id: PlanId) -> Response:
    """未领取名单 XLSX; role: cadre, finance or auditor."""
    return await _download(visit, f"/welfare/plans/{plan_id}/report.xlsx", f"{plan_id}.xlsx")


@router.get("/{plan_id}/signoff/{campus}/{department}/sheet.xlsx")
async def signoff_xlsx(
    visit: StaffVisit, plan_id: PlanId, campus: Campus, department: Department
) -> Response:
    """签领单 XLSX; role: cadre of the campus."""
    path = f"/welfare/plans/{plan_id}/signoff/{campus}/{department}/sheet.xlsx"
    return await _download(visit, path, f"signoff-{plan_id}.xlsx")

"""The cadre desk for exams and mutual aid under /admin: exam plans with their slot fill (an inline SVG
chart drawn here, no chart library), completion recorded by hand or from the provider's list,
and the not-booked list with its reminder; mutual-aid schemes with their enrolments (ID
numbers as welfare shows them to the caller) and claims moved on. Welfare decides every
write; the page only leaves out the forms of a plan whose statistics welfare does not show
the caller (they are a cadre's of the campus, as every write here)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from services.web.pages.exams_member import ClaimQuery
from services.web.pages.member import as_written, none, optional
from shared.errors import DomainError
from shared.parsing import yuan_to_fen
from shared.timeutil import local_today

router = APIRouter(prefix="/admin")

CampusQuery = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
YearQuery = Annotated[int | None, Query(ge=2000, le=2100)]
CampusPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$")]
YearPath = Annotated[int, Path(ge=2000, le=2100)]
MemberPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")]
EXAM_FLASH = {"completed": "已记录体检完成"}
OUTCOMES = {"completed": "已记录", "already": "此前已记录", "refused": "有误"}
ClaimId = Annotated[str, Path(pattern=r"^clm-[0-9a-f]{12}$")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEXT = {"submitted": ("with_insurer", "refused"), "with_insurer": ("paid", "refused")}
MOVE_LABELS = {"with_insurer": "送保险公司", "paid": "已赔付", "refused": "不予赔付"}


def campuses_of(visit: Visit) -> list[str]:
    assert visit.session is not None
    own = [c for c in visit.session.campuses if c != "*"]
    return own or ["main"]


def chosen(visit: Visit, campus: str | None) -> str:
    options = campuses_of(visit)
    return campus if campus else options[0]


@dataclass(frozen=True)
class Bar:
    y: int
    label: str
    taken_w: int
    free_w: int
    text: str


BAR_W, LABEL_W, ROW_H = 360, 150, 28


def fill_chart(slots: list[dict[str, Any]]) -> list[Bar]:
    """One bar per slot: booked (filled) against capacity (outline)."""
    bars = []
    for i, s in enumerate(slots):
        taken = min(s["taken"], s["capacity"])
        width = round(BAR_W * taken / s["capacity"]) if s["capacity"] else 0
        label = f"{s['day'][5:]} {s.get('period') or ''}".strip()
        bars.append(
            Bar(i * ROW_H, label[:14], width, BAR_W - width, f"{s['taken']}/{s['capacity']}")
        )
    return bars


def completion_default(day: date, today: date, year: int) -> date:
    """The day the completion form offers: the booked day once it has come; before it, today
    when today lies in the plan's year (welfare refuses a day outside it), else the booked
    day."""
    if day <= today or today.year != year:
        return day
    return today


async def cadre_only(call: Any) -> Any:
    """The plan's statistics, or None for whom welfare does not show them (finance, the
    auditor): the page then shows the plan without the cadre's lists and forms."""
    try:
        return await optional(call)
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise


@router.get("/exams")
async def exams(
    visit: StaffVisit,
    campus: CampusQuery = None,
    year: YearQuery = None,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """体检: the plan's slots filled (chart), booked/completed/not booked per department, who
    is booked (record completion, one by one or from the provider's list) and who has not
    booked (remind them); role: cadre."""
    campus, year = chosen(visit, campus), year or local_today().year
    return await exam_desk(visit, campus, year, flash=EXAM_FLASH.get(msg or ""))


async def exam_desk(
    visit: Visit,
    campus: str,
    year: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    report: dict[str, Any] | None = None,
) -> Response:
    base = f"/exams/plans/{campus}/{year}"
    plan, stats, _ = await asyncio.gather(
        optional(visit.get("welfare", base)),
        cadre_only(visit.get("welfare", f"{base}/statistics")),
        visit.org(),
    )
    bars = fill_chart(plan["slots"]) if plan else []
    periods = {s["code"]: s.get("period") or "" for s in plan["slots"]} if plan else {}
    today = local_today()
    awaiting = [
        {
            **b,
            "period": periods.get(b["slot"], ""),
            "default_day": completion_default(date.fromisoformat(b["day"]), today, year),
        }
        for b in (stats or {}).get("awaiting_completion", [])
    ]
    return visit.render(
        "admin/exams.html",
        status_code=status_code,
        plan=plan,
        stats=stats,
        awaiting=awaiting,
        # Welfare refuses a reminder once every slot is past (nobody could book): no button.
        may_remind=any(s["day"] >= today.isoformat() for s in plan["slots"]) if plan else False,
        report=report,
        outcomes=OUTCOMES,
        bars=bars,
        chart_w=LABEL_W + BAR_W + 70,
        chart_h=max(len(bars), 1) * ROW_H + 4,
        label_w=LABEL_W,
        campus=campus,
        campuses=campuses_of(visit),
        year=year,
        flash=flash,
        error=error,
        section="exams",
    )


@router.post("/exams/{campus}/{year}/bookings/{member_id}/completion")
async def exam_completion(
    visit: StaffVisit,
    campus: CampusPath,
    year: YearPath,
    member_id: MemberPath,
    completed_on: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> Response:
    """记录已体检 for one booking on the day given; role: cadre of the campus."""
    try:
        await visit.post(
            "welfare",
            f"/exams/plans/{campus}/{year}/bookings/{member_id}/completion",
            json={"completed_on": completed_on},
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await exam_desk(visit, campus, year, error=exc.message, status_code=exc.status)
    return redirect(f"/admin/exams?campus={campus}&year={year}&msg=completed")


@router.post("/exams/{campus}/{year}/completions")
async def exam_completions(
    visit: StaffVisit,
    campus: CampusPath,
    year: YearPath,
    file: Annotated[UploadFile, File()],
) -> Response:
    """The provider's completion list (CSV from Excel, GBK or UTF-8, or XLSX) sent to welfare,
    its report row by row shown; role: cadre of the campus."""
    max_bytes = visit.web.uploads.max_bytes
    content = await file.read(max_bytes + 1)
    if not content:
        return await exam_desk(
            visit, campus, year, error="请选择体检机构的名单文件", status_code=422
        )
    if len(content) > max_bytes:
        too_large = f"文件超过 {max_bytes // 1024 // 1024} MB，请拆分后上传"
        return await exam_desk(visit, campus, year, error=too_large, status_code=413)
    name = file.filename or "体检名单.csv"
    try:
        report = await visit.post(
            "welfare",
            f"/exams/plans/{campus}/{year}/completions",
            files={"file": (name, content, file.content_type or "application/octet-stream")},
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 413, 422):
            raise
        return await exam_desk(visit, campus, year, error=exc.message, status_code=exc.status)
    done = f"名单已处理：记录 {report['completed']} 人，此前已记录 {report['already']} 人"
    if report["refused"]:
        done += f"，{report['refused']} 行有误（见下方逐行结果）"
    return await exam_desk(visit, campus, year, flash=done, report=report)


@router.post("/exams/{campus}/{year}/reminder")
async def exam_reminder(visit: StaffVisit, campus: CampusPath, year: YearPath) -> Response:
    """提醒未预约者: welfare has notify remind them, once a day however often pressed; role:
    cadre of the campus."""
    try:
        done = await visit.post("welfare", f"/exams/plans/{campus}/{year}/reminders")
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await exam_desk(visit, campus, year, error=exc.message, status_code=exc.status)
    if done["sent_now"]:
        flash = f"已发出提醒：{done['members']} 位未预约的会员将收到通知"
    else:
        flash = f"今天已提醒过 {done['members']} 位未预约的会员，不再重复发送（每天一次）"
    return await exam_desk(visit, campus, year, flash=flash)


@router.get("/mutual-aid")
async def mutual_aid(
    visit: StaffVisit,
    campus: CampusQuery = None,
    year: YearQuery = None,
    msg: Annotated[str | None, Query(max_length=20)] = None,
    claim: ClaimQuery = None,
) -> Response:
    """互助保障: the year's schemes, each with its enrolments and claims; role: cadre."""
    chosen_campus, chosen_year = chosen(visit, campus), year or local_today().year
    return await aid_desk(visit, chosen_campus, chosen_year, msg=msg, claim=claim)


async def aid_desk(
    visit: Visit,
    campus: str,
    year: int,
    *,
    msg: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    claim: str | None = None,
) -> Response:
    schemes, _, moved = await asyncio.gather(
        visit.get("welfare", f"/mutual-aid/schemes/{campus}/{year}"),
        visit.org(),
        optional(visit.get("welfare", f"/mutual-aid/claims/{claim}")) if claim else none(),
    )
    base = f"/mutual-aid/schemes/{campus}/{year}"
    lists = await asyncio.gather(
        *(
            asyncio.gather(
                visit.get("welfare", f"{base}/{s['code']}/enrolments"),
                visit.get("welfare", f"{base}/{s['code']}/claims"),
            )
            for s in schemes
        )
    )
    return visit.render(
        "admin/mutual_aid.html",
        status_code=status_code,
        rows=[
            (s, e, as_written(c, moved if moved and moved["scheme_id"] == s["id"] else None))
            for s, (e, c) in zip(schemes, lists, strict=True)
        ],
        next_moves=NEXT,
        move_labels=MOVE_LABELS,
        campus=campus,
        campuses=campuses_of(visit),
        year=year,
        flash="理赔状态已更新" if msg == "moved" else None,
        error=error,
        section="mutual_aid",
    )


@router.get("/mutual-aid/{code}/enrolments.xlsx")
async def enrolments_xlsx(
    visit: StaffVisit, code: Code, campus: CampusQuery = None, year: YearQuery = None
) -> Response:
    """The insurer's enrolment list (XLSX) as welfare writes it for the caller; role: cadre."""
    campus, year = chosen(visit, campus), year or local_today().year
    answer = await visit.get(
        "welfare", f"/mutual-aid/schemes/{campus}/{year}/{code}/enrolments.xlsx", raw=True
    )
    return Response(
        answer.content,
        media_type=XLSX,
        headers={"Content-Disposition": answer.headers.get("content-disposition", "attachment")},
    )


@router.post("/mutual-aid/claims/{claim_id}/status")
async def move_claim(
    visit: StaffVisit,
    claim_id: ClaimId,
    status: Annotated[str, Form(pattern=r"^(with_insurer|paid|refused)$")],
    campus: Annotated[str, Form(pattern=r"^[a-z][a-z0-9-]{0,31}$")],
    year: Annotated[int, Form(ge=2000, le=2100)],
    paid: Annotated[str | None, Form(max_length=20)] = None,
    reason: Annotated[str | None, Form(max_length=200)] = None,
) -> Response:
    """Move a claim on; role: cadre of its campus."""
    try:
        body: dict[str, Any] = {"status": status}
        if status == "paid":
            body["paid_fen"] = yuan_to_fen(paid or "", "赔付金额")
        if status == "refused":
            body["reason"] = (reason or "").strip() or None
        await visit.post("welfare", f"/mutual-aid/claims/{claim_id}/status", json=body)
    except DomainError as exc:
        return await aid_desk(visit, campus, year, error=exc.message, status_code=422)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await aid_desk(visit, campus, year, error=exc.message, status_code=exc.status)
    return redirect(f"/admin/mutual-aid?campus={campus}&year={year}&msg=moved&claim={claim_id}")

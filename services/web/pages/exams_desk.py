"""The cadre desk for exams and mutual aid under /admin: exam plans with their slot fill (an inline SVG
chart drawn here, no chart library) and the not-booked list; mutual-aid schemes with their
enrolments (ID numbers as welfare shows them to the caller) and claims moved on."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
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
Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")]
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


@router.get("/exams")
async def exams(visit: StaffVisit, campus: CampusQuery = None, year: YearQuery = None) -> Response:
    """体检: the plan's slots filled (chart), booked/completed/not booked per department and
    who has not booked; role: cadre."""
    campus, year = chosen(visit, campus), year or local_today().year
    base = f"/exams/plans/{campus}/{year}"
    plan, stats, _ = await asyncio.gather(
        optional(visit.get("welfare", base)),
        optional(visit.get("welfare", f"{base}/statistics")),
        visit.org(),
    )
    bars = fill_chart(plan["slots"]) if plan else []
    return visit.render(
        "admin/exams.html",
        plan=plan,
        stats=stats,
        bars=bars,
        chart_w=LABEL_W + BAR_W + 70,
        chart_h=max(len(bars), 1) * ROW_H + 4,
        label_w=LABEL_W,
        campus=campus,
        campuses=campuses_of(visit),
        year=year,
        section="exams",
    )


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

"""A member's phone pages for welfare under /m: my exam slot (book, move, cancel) and
mutual aid (enrol, my claims). Calls welfare as the signed-in member: welfare decides."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, Visit, redirect
from services.web.pages.member import as_written, none, optional
from shared.errors import DomainError
from shared.parsing import yuan_to_fen
from shared.timeutil import local_today

router = APIRouter(prefix="/m")

Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")]
SlotCode = Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")]
FLASH = {
    "booked": "预约成功",
    "cancelled": "已取消体检预约",
    "enrolled": "参保成功，保费由工会支付",
    "claimed": "理赔申请已提交",
}


def my_campus(visit: Visit) -> str:
    assert visit.session is not None
    return next((c for c in visit.session.campuses if c != "*"), "main")


# -- the annual physical exam -----------------------------------------------------------------


@router.get("/exam")
async def exam(visit: MemberVisit, msg: str | None = None) -> Response:
    """年度体检: the slots with places left, my booking, book / move / cancel; role: member."""
    return await exam_page(visit, flash=FLASH.get(msg or ""))


async def exam_page(
    visit: Visit, *, flash: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    campus, year = my_campus(visit), local_today().year
    base = f"/exams/plans/{campus}/{year}"
    plan = await optional(visit.get("welfare", base))
    mine, not_for_me = None, None
    if plan:
        try:
            mine = await optional(visit.get("welfare", f"{base}/mine"))
        except ApiError as exc:
            if exc.status != 422:
                raise
            not_for_me = exc.message  # e.g. 本年度体检方案不含退休会员
    return visit.render(
        "m/exam.html",
        status_code=status_code,
        plan=plan,
        mine=mine,
        booking=(mine or {}).get("booking"),
        not_for_me=not_for_me,
        year=year,
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/exam/book")
async def exam_book(
    visit: MemberVisit,
    slot: SlotCode,
    package: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$")],
) -> Response:
    """预约或改约; role: member."""
    campus, year = my_campus(visit), local_today().year
    try:
        await visit.post(
            "welfare",
            f"/exams/plans/{campus}/{year}/bookings",
            json={"slot": slot, "package": package},
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await exam_page(visit, error=exc.message, status_code=exc.status)
    return redirect("/m/exam?msg=booked")


@router.post("/exam/cancel")
async def exam_cancel(visit: MemberVisit) -> Response:
    """取消预约; role: member."""
    campus, year = my_campus(visit), local_today().year
    try:
        await visit.post(
            "welfare", f"/exams/plans/{campus}/{year}/bookings/{visit.member_id}/cancel"
        )
    except ApiError as exc:
        if exc.status != 409:
            raise
        return await exam_page(visit, error=exc.message, status_code=409)
    return redirect("/m/exam?msg=cancelled")


# -- mutual aid -------------------------------------------------------------------------------


ClaimQuery = Annotated[str | None, Query(pattern=r"^clm-[0-9a-f]{12}$")]


@router.get("/mutual-aid")
async def mutual_aid(
    visit: MemberVisit, msg: str | None = None, claim: ClaimQuery = None
) -> Response:
    """互助保障: this year's schemes, whether I am enrolled, my claims; role: member."""
    return await aid_page(visit, flash=FLASH.get(msg or ""), claim=claim)


async def aid_page(
    visit: Visit,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
    claim: str | None = None,
) -> Response:
    campus, year = my_campus(visit), local_today().year
    schemes, claims, written = await asyncio.gather(
        visit.get("welfare", f"/mutual-aid/schemes/{campus}/{year}"),
        visit.get("welfare", "/mutual-aid/claims/mine"),
        optional(visit.get("welfare", f"/mutual-aid/claims/{claim}")) if claim else none(),
    )
    claims = as_written(claims, written)
    enrolments: list[Any] = await asyncio.gather(
        *(
            optional(
                visit.get(
                    "welfare",
                    f"/mutual-aid/schemes/{campus}/{year}/{s['code']}/enrolments/{visit.member_id}",
                )
            )
            for s in schemes
        )
    )
    names = {s["id"]: s["name"] for s in schemes}
    return visit.render(
        "m/mutual_aid.html",
        status_code=status_code,
        rows=list(zip(schemes, enrolments, strict=True)),
        claims=claims,
        names=names,
        today=local_today().isoformat(),
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/mutual-aid/{code}/enrol")
async def aid_enrol(
    visit: MemberVisit,
    code: Code,
    id_number: Annotated[str, Form(min_length=1, max_length=40)],
) -> Response:
    """参保 (the women-only scheme refuses men in plain words); role: member."""
    campus, year = my_campus(visit), local_today().year
    try:
        await visit.post(
            "welfare",
            f"/mutual-aid/schemes/{campus}/{year}/{code}/enrolments",
            json={"id_number": id_number},
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await aid_page(visit, error=exc.message, status_code=exc.status)
    return redirect("/m/mutual-aid?msg=enrolled")


@router.post("/mutual-aid/{code}/claim")
async def aid_claim(
    visit: MemberVisit,
    code: Code,
    amount: Annotated[str, Form(min_length=1, max_length=20)],
    occurred_on: Annotated[str, Form(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> Response:
    """申请理赔; role: member (enrolled)."""
    campus, year = my_campus(visit), local_today().year
    try:
        fen = yuan_to_fen(amount, "申请金额")
        made = await visit.post(
            "welfare",
            f"/mutual-aid/schemes/{campus}/{year}/{code}/claims",
            json={"claimed_fen": fen, "occurred_on": occurred_on},
        )
    except DomainError as exc:
        return await aid_page(visit, error=exc.message, status_code=422)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        return await aid_page(visit, error=exc.message, status_code=exc.status)
    return redirect(f"/m/mutual-aid?msg=claimed&claim={made['id']}")

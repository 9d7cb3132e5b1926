"""生日福利 on the cadre desk (/admin/care/birthdays): a month's birthday benefits of the
cadre's campuses — the member (named when welfare names them to the reader), the gift chosen,
and whether the benefit's money is on the campus's ledger or not yet (未记账, with the
budget's reason). Birthday money is paid one ledger entry per batch (a campus's benefits of one
run), so each benefit shows its batch and the batch's entry (已记账 第 N 笔), and the month's
batches are summed up (人数, 金额, entry) as the ledger shows them: the entry's amount is its
benefits' sum. For the school's chair, the run of a month now (the job does it on the 1st;
again, it posts what the budget refused before). Every figure is welfare's, asked as the
signed-in person: welfare decides who reads the list (cadres) and who runs a month (an admin
of the whole school).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit
from services.web.sessions import Session
from shared.timeutil import local_today

router = APIRouter(prefix="/admin/care/birthdays")

MONTH = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"  # as welfare's /birthdays takes it
MonthQuery = Annotated[str | None, Query(pattern=r"^(20[0-9]{2}-(0[1-9]|1[0-2]))?$")]
# Who runs a month (welfare's birthdays/handlers.py `run_now` decides): an admin holding
# every campus. The page only leaves the button out for the others.
RUN_ROLE = "admin"
ALL_CAMPUSES = "*"


def may_run(session: Session | None) -> bool:
    """Whether welfare would let this person run a month (`has`: the session's role check)."""
    return session is not None and session.has(RUN_ROLE) and ALL_CAMPUSES in session.campuses


def this_month() -> str:
    return local_today().isoformat()[:7]  # Asia/Shanghai


def counts_of(benefits: list[dict[str, Any]]) -> dict[str, int]:
    """The month's figures at the top of the page."""
    return {
        "total": len(benefits),
        "chosen": sum(1 for b in benefits if b["status"] == "chosen"),
        "unposted": sum(1 for b in benefits if b["ledger"] != "posted"),
    }


def batches_of(benefits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The month's ledger batches as the list shows them: each batch's campus, benefits, sum
    and entry (or why it is 未记账), in the order of the campus and the entry."""
    found: dict[str, dict[str, Any]] = {}
    for b in benefits:
        key = b.get("ledger_batch")
        if not key:
            continue  # paid on its own before batches, or not claimed yet
        batch = found.setdefault(
            key,
            {
                "key": key,
                "campus": b["campus"],
                "count": 0,
                "amount_fen": 0,
                "seq": None,
                "problem": None,
            },
        )
        batch["count"] += 1
        batch["amount_fen"] += b["amount_fen"]
        batch["seq"] = batch["seq"] or b.get("ledger_seq")
        batch["problem"] = batch["problem"] or b.get("ledger_problem")
    return sorted(found.values(), key=lambda x: (x["campus"], x["seq"] or 0, x["key"]))


async def desk_page(
    visit: Visit,
    month: str,
    run: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    benefits, _ = await asyncio.gather(
        visit.get("welfare", "/birthdays", params={"month": month}), visit.org()
    )
    return visit.render(
        "admin/birthdays.html",
        status_code=status_code,
        month=month,
        current=month == this_month(),
        benefits=benefits,
        counts=counts_of(benefits),
        batches=batches_of(benefits),
        run=run,
        may_run=may_run(visit.session),
        error=error,
        section="care",
    )


@router.get("")
async def birthdays(visit: StaffVisit, month: MonthQuery = None) -> Response:
    """一个月的生日福利: gifts and ledger postings, the month's run; role: cadre."""
    return await desk_page(visit, month or this_month())


@router.post("/runs")
async def run_month(visit: StaffVisit, month: Annotated[str, Form(pattern=MONTH)]) -> Response:
    """运行某月生日福利 now (补记 what the budget refused); role: admin of the whole school."""
    try:
        ran = await visit.post("welfare", "/birthdays/runs", json={"month": month})
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        return await desk_page(visit, month, error=exc.message, status_code=exc.status)
    return await desk_page(visit, month, run=ran)

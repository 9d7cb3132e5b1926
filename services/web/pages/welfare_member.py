"""我的福利 on the member's phone (/m/welfare): open festival entitlements with their gift
options as pictures and prices, a choice before the deadline, the receipt of an issued gift,
and what this year's welfare came to. The welfare service decides every rule; a refusal is
shown with its message.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, Visit, redirect
from shared.timeutil import local_today

router = APIRouter(prefix="/m")

EntitlementId = Annotated[str, Path(max_length=160, pattern=r"^[A-Za-z0-9_.:-]+$")]
FLASH = {"chosen": "礼品已选择；截止前可以改选", "received": "已确认签收，谢谢"}
OPEN = ("open", "chosen")
DONE = ("issued", "received")


def split(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What waits for the member (to choose or to confirm) and what is done (received, or
    decided without them: voided, or chosen after the deadline and not yet issued)."""
    waiting = [i for i in items if i["choosing"] or i["status"] == "issued"]
    rest = [i for i in items if i not in waiting]
    return waiting, rest


def option_of(item: dict[str, Any]) -> dict[str, Any] | None:
    code = item.get("option") or None
    return next((o for o in item["options"] if o["code"] == code), None)


async def welfare_page(
    visit: Visit, *, flash: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    year = local_today().year
    mine = await visit.get("welfare", "/welfare/entitlements/mine", params={"year": year})
    waiting, rest = split(mine["items"])
    return visit.render(
        "m/welfare.html",
        status_code=status_code,
        year=year,
        waiting=waiting,
        rest=rest,
        received_fen=mine["received_fen"],
        option_of=option_of,
        flash=flash,
        error=error,
        tab="home",
    )


@router.get("/welfare")
async def my_welfare(visit: MemberVisit, msg: str | None = None) -> Response:
    """我的福利: open entitlements, choice, receipt, this year's welfare; role: member."""
    return await welfare_page(visit, flash=FLASH.get(msg or ""))


async def _act(visit: Visit, path: str, body: dict[str, Any] | None, done: str) -> Response:
    try:
        await visit.post("welfare", path, json=body)
    except ApiError as exc:
        if exc.status not in (403, 404, 409, 422):
            raise
        return await welfare_page(visit, error=exc.message, status_code=exc.status)
    return redirect(f"/m/welfare?msg={done}")


@router.post("/welfare/{entitlement_id}/choice")
async def choose(
    visit: MemberVisit,
    entitlement_id: EntitlementId,
    option: Annotated[str, Form(max_length=24, pattern=r"^[a-z0-9_-]+$")],
) -> Response:
    """选择礼品 before the deadline; role: member (own)."""
    path = f"/welfare/entitlements/{entitlement_id}/choice"
    return await _act(visit, path, {"option": option}, "chosen")


@router.post("/welfare/{entitlement_id}/receipt")
async def receive(visit: MemberVisit, entitlement_id: EntitlementId) -> Response:
    """确认签收 of an issued gift; role: member (own)."""
    return await _act(visit, f"/welfare/entitlements/{entitlement_id}/receipt", None, "received")

"""Members' voice on the phone (375 px): commendations (推荐、投票、公示与异议) and, for
representatives, the staff congress (提案：起草、附议、跟进、评价；决议表决).

Every page reads the events service's API as the signed-in member; every form posts to one
action route per page, which calls the API and shows its refusal in plain words on the page.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import MemberVisit, Visit, redirect
from services.web.filters import day
from shared.timeutil import local_today
from shared.vocabulary.voice import ProposalCategory, Rating

router = APIRouter(prefix="/m")

CampaignId = Annotated[str, Path(pattern=r"^cm-[0-9a-f]{10}$")]
SessionId = Annotated[str, Path(pattern=r"^cg-[0-9a-f]{10}$")]
ProposalId = Annotated[str, Path(pattern=r"^pp-[0-9a-f]{10}$")]
CampaignAction = Annotated[str, Path(pattern=r"^(nominate|vote|object)$")]
SessionAction = Annotated[str, Path(pattern=r"^(propose|resolve)$")]
ProposalAction = Annotated[str, Path(pattern=r"^(cosign|submit|endorse|rate|second-reply)$")]
REFUSALS = (403, 404, 409, 422)

FLASH = {
    "nominated": "推荐已提交，等待工会审核",
    "voted": "投票成功",
    "objected": "异议已提交，工会将核实处理",
    "proposed": "提案草稿已保存，请邀请其他代表附议",
    "voted_resolution": "表决票已投出",
    "cosign": "已附议",
    "submit": "提案已提交",
    "endorse": "已审核同意",
    "rate": "评价已提交",
    "second-reply": "已要求承办部门再次答复",
}


async def optional(call: Any) -> Any:
    """A call whose refusal means "nothing to show" (another member's objections)."""
    try:
        return await call
    except ApiError as exc:
        if exc.status in (403, 404):
            return None
        raise


def text(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


@router.get("/voice")
async def voice(visit: MemberVisit) -> Response:
    """评选与教代会: campaigns and congress sessions of my campus; role: member."""
    campaigns, sessions, _ = await asyncio.gather(
        visit.get("events", "/commendations"),
        visit.get("events", "/congress/sessions"),
        visit.org(),
    )
    return visit.render("m/voice.html", campaigns=campaigns, sessions=sessions, tab="home")


# -- commendations ----------------------------------------------------------------------------


def objection_closed(campaign: dict[str, Any], today: date) -> str | None:
    """Why the publicity list has no objection form (None: it has one). Events takes
    objections only from the publicity's first day to its last, Beijing dates
    (`objection.too_early` / `objection.too_late`): a form outside them could only be
    refused, so the page says when objections open, or that they closed, instead."""
    start, until = campaign.get("publicity_from"), campaign.get("publicity_until")
    period = f"公示期：{day(start)} 至 {day(until)}"
    if start and today < date.fromisoformat(start):
        return f"{period}，公示开始后可提出异议"
    if until and today > date.fromisoformat(until):
        return f"{period}，已结束，不再受理异议"
    return None


@router.get("/commendations/{campaign_id}")
async def campaign(visit: MemberVisit, campaign_id: CampaignId, msg: str | None = None) -> Response:
    """一次评选: nominate, vote, read the 公示 and object; role: member."""
    return await campaign_page(visit, campaign_id, flash=FLASH.get(msg or ""))


async def campaign_page(
    visit: Visit,
    campaign_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found, objections, _ = await asyncio.gather(
        visit.get("events", f"/commendations/{campaign_id}"),
        optional(visit.get("events", f"/commendations/{campaign_id}/objections")),
        visit.org(),
    )
    names = {c["id"]: c for c in found["candidates"]}
    mine = {v["category_id"]: v for v in found["my_votes"]}
    return visit.render(
        "m/campaign.html",
        status_code=status_code,
        c=found,
        names=names,
        mine=mine,
        objections=objections or [],
        objection_closed=objection_closed(found, local_today()),
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/commendations/{campaign_id}/{action}")
async def campaign_action(
    visit: MemberVisit, campaign_id: CampaignId, action: CampaignAction
) -> Response:
    """推荐 (myself, or a colleague by 工号), 投票 (the candidates ticked in a category),
    异议 (a listed candidate with a reason); role: member."""
    form = await visit.request.form()
    url = f"/commendations/{campaign_id}"
    try:
        if action == "nominate":
            colleague = text(form, "staff_no")  # 工号, as members know each other
            body = {
                "category_id": text(form, "category_id"),
                **({"staff_no": colleague} if colleague else {}),  # none: oneself
                "reasons": text(form, "reasons"),
            }
            await visit.post("events", f"{url}/nominations", json=body)
            done = "nominated"
        elif action == "vote":
            chosen = [v for v in form.getlist("candidates") if isinstance(v, str)]
            category = text(form, "category_id") or "c1"
            await visit.post(
                "events", f"{url}/categories/{category}/votes", json={"candidates": chosen}
            )
            done = "voted"
        else:
            body = {"nomination_id": text(form, "nomination_id"), "reason": text(form, "reason")}
            await visit.post("events", f"{url}/objections", json=body)
            done = "objected"
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await campaign_page(visit, campaign_id, error=exc.message, status_code=exc.status)
    return redirect(f"/m/commendations/{campaign_id}?msg={done}")


# -- the staff congress -----------------------------------------------------------------------


@router.get("/congress/{session_id}")
async def session(visit: MemberVisit, session_id: SessionId, msg: str | None = None) -> Response:
    """一次教代会: the proposal register, my proposals, drafts to co-sign, resolutions to vote;
    role: member (representatives act)."""
    return await session_page(visit, session_id, flash=FLASH.get(msg or ""))


async def session_page(
    visit: Visit,
    session_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found, register = await asyncio.gather(
        visit.get("events", f"/congress/sessions/{session_id}"),
        visit.get("events", f"/congress/sessions/{session_id}/proposals"),
    )
    me = visit.member_id
    return visit.render(
        "m/session.html",
        status_code=status_code,
        s=found,
        mine=[p for p in register if p["proposer_id"] == me],
        drafts=[p for p in register if p["status"] == "draft" and p["proposer_id"] != me],
        register=[p for p in register if p["status"] != "draft"],
        categories=ProposalCategory.labels(),
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/congress/{session_id}/{action}")
async def session_action(
    visit: MemberVisit, session_id: SessionId, action: SessionAction
) -> Response:
    """起草提案 or 表决 a resolution; role: representative."""
    form = await visit.request.form()
    try:
        if action == "propose":
            body = {k: text(form, k) for k in ("title", "reasons", "measures", "department")}
            body["category"] = text(form, "category") or "other"
            made = await visit.post(
                "events", f"/congress/sessions/{session_id}/proposals", json=body
            )
            return redirect(f"/m/proposals/{made['id']}?msg=proposed")
        resolution = text(form, "resolution_id") or "rs-0000000000"
        await visit.post(
            "events",
            f"/congress/resolutions/{resolution}/votes",
            json={"choice": text(form, "choice")},
        )
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await session_page(visit, session_id, error=exc.message, status_code=exc.status)
    return redirect(f"/m/congress/{session_id}?msg=voted_resolution")


@router.get("/proposals/{proposal_id}")
async def proposal(visit: MemberVisit, proposal_id: ProposalId, msg: str | None = None) -> Response:
    """一件提案: its text, co-signers, steps, replies; co-sign, submit, endorse, rate; role:
    member (representatives act)."""
    return await proposal_page(visit, proposal_id, flash=FLASH.get(msg or ""))


async def proposal_page(
    visit: Visit,
    proposal_id: str,
    *,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    found = await visit.get("events", f"/congress/proposals/{proposal_id}")
    session_found = await visit.get("events", f"/congress/sessions/{found['session_id']}")
    me = visit.member_id
    return visit.render(
        "m/proposal.html",
        status_code=status_code,
        p=found,
        s=session_found,
        mine=found["proposer_id"] == me,
        head=session_found["heads"].get(found["delegation"]) == me,
        ratings=Rating.labels(),
        flash=flash,
        error=error,
        tab="home",
    )


@router.post("/proposals/{proposal_id}/{action}")
async def proposal_action(
    visit: MemberVisit, proposal_id: ProposalId, action: ProposalAction
) -> Response:
    """附议, 提交, 团长审核, 评价 (满意/基本满意/不满意), 要求再次答复; role: representative (the
    proposer, or the delegation head, as the step needs)."""
    form = await visit.request.form()
    url = f"/congress/proposals/{proposal_id}"
    try:
        if action == "rate":
            await visit.post("events", f"{url}/rating", json={"rating": text(form, "rating")})
        else:
            await visit.post("events", f"{url}/{action}")
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await proposal_page(visit, proposal_id, error=exc.message, status_code=exc.status)
    return redirect(f"/m/proposals/{proposal_id}?msg={action}")

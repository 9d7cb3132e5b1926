"""The cadre desk for members' voice: commendation campaigns from nomination to result (with
the printable recommendation form and its XLSX), and the staff congress: sessions, the
register with the proposal committee's decisions, resolutions, and the departments' reply page.

The events service decides every rule; a refusal is shown on the page it came from.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from shared.timeutil import local_today
from shared.vocabulary.voice import CategoryKind, Rating

router = APIRouter(prefix="/admin")

CampaignId = Annotated[str, Path(pattern=r"^cm-[0-9a-f]{10}$")]
SessionId = Annotated[str, Path(pattern=r"^cg-[0-9a-f]{10}$")]
ProposalId = Annotated[str, Path(pattern=r"^pp-[0-9a-f]{10}$")]
CampaignAction = Annotated[str, Path(pattern=r"^(phase|review|resolve)$")]
SessionAction = Annotated[str, Path(pattern=r"^(representatives|resolution|close)$")]
ProposalAction = Annotated[str, Path(pattern=r"^(decision|assignment|reply)$")]
# The proposal the cadre just changed (a redirect after an action): read by key.
Changed = Annotated[str | None, Query(pattern=r"^pp-[0-9a-f]{10}$")]
REFUSALS = (403, 404, 409, 422)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PHASES = {
    "reviewing": "进入审核",
    "voting": "开始投票",
    "publicity": "截止投票并公示",
    "published": "公布结果",
    "nominating": "退回征集推荐",
}
CATEGORY_KINDS = {
    "teacher_ethics": "师德标兵",
    "pioneer": "先锋模范",
    "post_expert": "岗位能手",
    "city_model_worker": "市劳模推荐",
    "other": "其他",
}
DECISIONS = {
    "accepted": "立案",
    "opinion": "转为意见建议",
    "merged": "并案",
    "rejected": "不予立案",
}


def text(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None


def beijing(value: str | None) -> str | None:
    """A `datetime-local` field (Beijing time, no offset) as the API reads it."""
    return f"{value}:00+08:00" if value and len(value) == 16 else value


def number(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


# -- commendations ----------------------------------------------------------------------------


@router.get("/commendations")
async def campaigns(visit: StaffVisit, error: str | None = None) -> Response:
    """评选表彰: the campaigns and a form to set one up; role: cadre or admin."""
    return await campaigns_page(visit)


async def campaigns_page(
    visit: Visit, error: str | None = None, status_code: int = 200
) -> Response:
    listed, _ = await asyncio.gather(visit.get("events", "/commendations"), visit.org())
    return visit.render(
        "admin/campaigns.html",
        status_code=status_code,
        campaigns=listed,
        kinds=CategoryKind.labels(),
        year=local_today().year,
        error=error,
        section="voice",
    )


@router.post("/commendations")
async def create_campaign(visit: StaffVisit) -> Response:
    """Set up a campaign with up to three categories; role: cadre of its campus."""
    form = await visit.request.form()
    campus = text(form, "campus") or ""
    categories = []
    for i in (1, 2, 3):
        name = text(form, f"name_{i}")
        if name:
            categories.append(
                {
                    "name": name,
                    "kind": text(form, f"kind_{i}") or "other",
                    "quotas": [{"campus": campus, "count": number(text(form, f"quota_{i}"), 1)}],
                    "votes_per_voter": number(text(form, f"votes_{i}"), 3),
                }
            )
    body = {
        "title": text(form, "title"),
        "year": number(text(form, "year"), 0),
        "campus": campus,
        "categories": categories,
    }
    try:
        made = await visit.post("events", "/commendations", json=body)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await campaigns_page(visit, exc.message, exc.status)
    return redirect(f"/admin/commendations/{made['id']}")


@router.get("/commendations/{campaign_id}")
async def campaign(visit: StaffVisit, campaign_id: CampaignId) -> Response:
    """One campaign: nominations to review, the phase, votes, objections, the result; role:
    cadre of its campus."""
    return await campaign_page(visit, campaign_id)


async def campaign_page(
    visit: Visit, campaign_id: str, error: str | None = None, status_code: int = 200
) -> Response:
    found, nominations, objections, _ = await asyncio.gather(
        visit.get("events", f"/commendations/{campaign_id}"),
        visit.get("events", f"/commendations/{campaign_id}/nominations"),
        visit.get("events", f"/commendations/{campaign_id}/objections"),
        visit.org(),
    )
    names = {n["id"]: n for n in nominations}
    top = max((n["votes"] or 0 for n in nominations), default=0)
    return visit.render(
        "admin/campaign.html",
        status_code=status_code,
        c=found,
        nominations=nominations,
        names=names,
        objections=objections,
        top=top,
        phases=PHASES,
        today=local_today().isoformat(),
        error=error,
        section="voice",
    )


@router.post("/commendations/{campaign_id}/{action}")
async def campaign_action(
    visit: StaffVisit, campaign_id: CampaignId, action: CampaignAction
) -> Response:
    """Move the phase, review a nomination, resolve an objection; role: cadre of its campus."""
    form = await visit.request.form()
    url = f"/commendations/{campaign_id}"
    body: dict[str, Any]
    try:
        if action == "phase":
            body = {
                "to": text(form, "to"),
                "voting_closes_at": beijing(text(form, "voting_closes_at")),
                "publicity_from": text(form, "publicity_from"),
                "publicity_until": text(form, "publicity_until"),
            }
            await visit.post("events", f"{url}/phase", json=body)
        elif action == "review":
            nid = text(form, "nomination_id") or "x"
            body = {"decision": text(form, "decision"), "reason": text(form, "reason")}
            await visit.post("events", f"{url}/nominations/{nid}/review", json=body)
        else:
            oid = text(form, "objection_id") or "x"
            body = {"upheld": text(form, "upheld") == "yes", "answer": text(form, "answer")}
            await visit.post("events", f"{url}/objections/{oid}/resolve", json=body)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await campaign_page(visit, campaign_id, exc.message, exc.status)
    return redirect(f"/admin/commendations/{campaign_id}")


async def form_rows(visit: Visit, found: dict[str, Any]) -> list[dict[str, Any]]:
    # The nominations (the campus's cadres only) first: the form is theirs even when empty.
    nominations = await visit.get("events", f"/commendations/{found['id']}/nominations")
    chosen = found["elected"] or found["listed"]
    by_id = {n["id"]: n for n in nominations}
    category = {c["id"]: c["name"] for c in found["categories"]}
    return [
        {
            **by_id[w["nomination_id"]],
            "category": category.get(w["category_id"], ""),
            "votes": w["votes"],
            "quota_campus": w["campus"],
        }
        for w in chosen
        if w["nomination_id"] in by_id
    ]


@router.get("/commendations/{campaign_id}/print")
async def print_form(visit: StaffVisit, campaign_id: CampaignId) -> Response:
    """推荐审批表 (e.g. 市劳模) as a printable page; role: cadre of its campus."""
    found, _ = await asyncio.gather(
        visit.get("events", f"/commendations/{campaign_id}"), visit.org()
    )
    return visit.render(
        "admin/campaign_print.html", c=found, rows=await form_rows(visit, found), section="voice"
    )


@router.get("/commendations/{campaign_id}/recommendation.xlsx")
async def recommendation_xlsx(visit: StaffVisit, campaign_id: CampaignId) -> Response:
    """推荐审批表 as XLSX (the events service writes it, and audits the export); role: cadre of
    its campus."""
    answer = await visit.api(
        "events", "GET", f"/commendations/{campaign_id}/recommendation.xlsx", raw=True
    )
    return Response(
        answer.content,
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="recommendation-{campaign_id}.xlsx"'
        },
    )


# -- the staff congress -----------------------------------------------------------------------


async def proposal_register(
    visit: Visit, session_id: str, changed: str | None = None
) -> list[dict[str, Any]]:
    """The session's register; the proposal just changed read by key, as the list view may
    not have the change yet (it converges within a second)."""
    register = await visit.get("events", f"/congress/sessions/{session_id}/proposals")
    if changed:
        try:
            fresh = await visit.get("events", f"/congress/proposals/{changed}")
        except ApiError as exc:
            if exc.status not in REFUSALS:
                raise
            return register
        if fresh["session_id"] == session_id:
            register = [fresh if p["id"] == changed else p for p in register]
    return register


@router.get("/congress")
async def sessions(visit: StaffVisit) -> Response:
    """教代会: sessions (past ones searchable) and a form to set one up; role: cadre or admin."""
    return await sessions_page(visit)


async def sessions_page(visit: Visit, error: str | None = None, status_code: int = 200) -> Response:
    q = visit.request.query_params.get("q") or None
    listed, _ = await asyncio.gather(
        visit.get("events", "/congress/sessions", params={"q": q[:50] if q else None}), visit.org()
    )
    return visit.render(
        "admin/congress.html",
        status_code=status_code,
        sessions=listed,
        q=q or "",
        year=local_today().year,
        error=error,
        section="voice",
    )


@router.post("/congress")
async def create_session(visit: StaffVisit) -> Response:
    """Set up a congress session; role: cadre of its campus."""
    form = await visit.request.form()
    body = {
        "title": text(form, "title"),
        "year": number(text(form, "year"), 0),
        "campus": text(form, "campus"),
        "cosign_min": number(text(form, "cosign_min"), 2),
        "proposals_until": beijing(text(form, "proposals_until")),
    }
    try:
        made = await visit.post("events", "/congress/sessions", json=body)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await sessions_page(visit, exc.message, exc.status)
    return redirect(f"/admin/congress/{made['id']}")


@router.get("/congress/{session_id}")
async def session(
    visit: StaffVisit,
    session_id: SessionId,
    added: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    already: Annotated[int | None, Query(ge=0, le=100_000)] = None,
    changed: Changed = None,
) -> Response:
    """One session: representatives, the proposal register with the committee's decisions,
    assignments, resolutions; role: cadre of its campus."""
    flash = None
    if added is not None:
        flash = f"已从代表任期导入：新增 {added} 位代表，{already or 0} 位此前已登记"
    return await session_page(visit, session_id, flash=flash, changed=changed)


async def session_page(
    visit: Visit,
    session_id: str,
    error: str | None = None,
    status_code: int = 200,
    flash: str | None = None,
    changed: str | None = None,
) -> Response:
    found, register, reps, _ = await asyncio.gather(
        visit.get("events", f"/congress/sessions/{session_id}"),
        proposal_register(visit, session_id, changed),
        visit.get("events", f"/congress/sessions/{session_id}/representatives"),
        visit.org(),
    )
    return visit.render(
        "admin/congress_session.html",
        status_code=status_code,
        s=found,
        register=register,
        reps=reps,
        decisions=DECISIONS,
        ratings=Rating.labels(),
        today=local_today().isoformat(),
        error=error,
        flash=flash,
        section="voice",
    )


@router.post("/congress/{session_id}/representatives/from-terms")
async def representatives_from_terms(visit: StaffVisit, session_id: SessionId) -> Response:
    """从代表任期导入: register the campus's members whose congress term covers the session's
    year, then show how many were added; role: cadre of its campus."""
    url = f"/congress/sessions/{session_id}/representatives/from-terms"
    try:
        done = await visit.post("events", url)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await session_page(visit, session_id, exc.message, exc.status)
    counts = f"added={len(done['added'])}&already={len(done['already'])}"
    return redirect(f"/admin/congress/{session_id}?{counts}")


@router.get("/congress/{session_id}/replies")
async def replies(visit: StaffVisit, session_id: SessionId, changed: Changed = None) -> Response:
    """承办部门答复: proposals waiting for a reply, overdue ones first; role: cadre of its
    campus (for the departments)."""
    return await replies_page(visit, session_id, changed=changed)


async def replies_page(
    visit: Visit,
    session_id: str,
    error: str | None = None,
    status_code: int = 200,
    changed: str | None = None,
) -> Response:
    found, register = await asyncio.gather(
        visit.get("events", f"/congress/sessions/{session_id}"),
        proposal_register(visit, session_id, changed),
    )
    waiting = [p for p in register if p["status"] in ("assigned", "reopened")]
    waiting.sort(key=lambda p: (not p["overdue"], p["due_on"] or "", p["number"] or 0))
    answered = [p for p in register if p["replies"]]
    return visit.render(
        "admin/congress_replies.html",
        status_code=status_code,
        s=found,
        waiting=waiting,
        answered=answered,
        error=error,
        section="voice",
    )


@router.post("/congress/{session_id}/{action}")
async def session_action(
    visit: StaffVisit, session_id: SessionId, action: SessionAction
) -> Response:
    """Register representatives, put a resolution to the vote, close a vote; role: cadre of
    its campus."""
    form = await visit.request.form()
    url = f"/congress/sessions/{session_id}"
    try:
        if action == "representatives":
            ids = (text(form, "member_ids") or "").replace("，", ",").replace("\n", ",")
            body = {
                "member_ids": [i.strip() for i in ids.split(",") if i.strip()],
                "head": text(form, "head"),
            }
            await visit.post("events", f"{url}/representatives", json=body)
        elif action == "resolution":
            body = {"title": text(form, "title"), "text": text(form, "text")}
            await visit.post("events", f"{url}/resolutions", json=body)
        else:
            rid = text(form, "resolution_id") or "rs-0000000000"
            await visit.post("events", f"/congress/resolutions/{rid}/close")
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        return await session_page(visit, session_id, exc.message, exc.status)
    return redirect(f"/admin/congress/{session_id}")


@router.post("/proposals/{proposal_id}/{action}")
async def proposal_action(
    visit: StaffVisit, proposal_id: ProposalId, action: ProposalAction
) -> Response:
    """The committee's decision, the assignment to a department, the department's reply;
    role: cadre of its campus."""
    form = await visit.request.form()
    url = f"/congress/proposals/{proposal_id}"
    back = text(form, "back")
    try:
        if action == "decision":
            body = {
                "decision": text(form, "decision"),
                "reason": text(form, "reason"),
                "merge_into": text(form, "merge_into"),
            }
        elif action == "assignment":
            body = {"department": text(form, "department"), "due_on": text(form, "due_on")}
        else:
            body = {"text": text(form, "text")}
        done = await visit.post("events", f"{url}/{action}", json=body)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        found = await visit.get("events", url)
        if back == "replies":
            return await replies_page(visit, found["session_id"], exc.message, exc.status)
        return await session_page(visit, found["session_id"], exc.message, exc.status)
    suffix = "/replies" if back == "replies" else ""
    return redirect(
        f"/admin/congress/{done['session_id']}{suffix}?changed={proposal_id}#p-{proposal_id}"
    )

"""Commendation routes (评选表彰 / 劳模推评): campaigns, nominations, the secret vote, the
publicity and its objections, the result and the recommendation form."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from services.events.commendations.domain import (
    CATEGORY_ID,
    PHASES,
    Attachment,
    Campaign,
    CampaignPhase,
    Category,
    NewCampaign,
    NewNomination,
    NewObjection,
    NominatedBy,
    NominationStatus,
    ObjectionStatus,
    PhaseMove,
    Resolve,
    Review,
    Winner,
)
from services.events.commendations.handlers import (
    move,
    nominate_member,
    object_to,
    resolve,
    review,
    runs,
    set_up,
    standing,
    visible,
    vote,
    votes_of,
)
from services.events.commendations.store import CampaignBook
from services.events.deps import Audit, Cadre, Directory
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.export import xlsx_bytes
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.timeutil import as_local, utcnow

Campaigns = Annotated[CampaignBook, Depends(provided("commendations"))]
CampaignId = Annotated[str, Path(pattern=r"^cm-[0-9a-f]{10}$", description="评选编号")]
CategoryId = Annotated[str, Path(pattern=CATEGORY_ID, description="类别编号，如 c1")]
NominationId = Annotated[str, Path(pattern=r"^cm-[0-9a-f]{10}-c[0-9]{1,2}-[A-Za-z0-9._-]{1,64}$")]
ObjectionId = Annotated[str, Path(pattern=r"^ob-[0-9a-f]{12}$")]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["评选表彰 commendations"])


class CandidatePublic(PublicModel):
    id: str = Field(description="推荐编号")
    category_id: str
    member_id: str
    name: str
    department: str
    campus: str
    by_kind: NominatedBy
    by_kind_label: str
    reasons: str
    status: NominationStatus
    status_label: str
    votes: int | None = Field(description="得票（投票截止后公开；工会干部随时可见）")


class MyVotes(BaseModel):
    category_id: str
    used: int = Field(description="已投票数")
    limit: int = Field(description="每人最多票数")
    candidates: list[str] = Field(description="我投给的候选人（仅本人可见）")


class CampaignPublic(BaseModel):
    id: str
    title: str
    year: int
    campus: str
    version: int
    phase: CampaignPhase
    phase_label: str
    next_phases: list[CampaignPhase] = Field(description="可转到的阶段")
    categories: list[Category]
    voting_closes_at: datetime | None = Field(description="投票截止（北京时间）")
    voting_open: bool
    publicity_from: date | None
    publicity_until: date | None
    candidates: list[CandidatePublic] = Field(description="入围候选人（投票开始后）")
    listed: list[Winner] = Field(description="公示名单")
    elected: list[Winner] = Field(description="公布的结果")
    my_votes: list[MyVotes] = Field(description="我的投票（会员）")


def _sees_tally(campaign: Campaign, user: Principal) -> bool:
    closed = campaign.votes_counted
    return closed or (user.has_role(Role.cadre) and user.can_access(campaign.campus))


async def campaign_public(
    campaign: Campaign, book: CampaignBook, user: Principal
) -> CampaignPublic:
    shown: list[CandidatePublic] = []
    mine: list[MyVotes] = []
    if campaign.phase not in (CampaignPhase.nominating, CampaignPhase.reviewing):
        listed = [
            n
            for n in await book.nominations_of(
                campaign.id, status=NominationStatus.shortlisted.value
            )
        ]
        tally = await votes_of(campaign, book) if _sees_tally(campaign, user) else None
        shown = [
            CandidatePublic.of(n, votes=tally.get(n.id, 0) if tally is not None else None)
            for n in listed
        ]
        if user.has_role(Role.member):
            for category in campaign.categories:
                ids = [n.id for n in listed if n.category_id == category.id]
                used, chosen = await book.box.mine(campaign.id, category.id, user.subject, ids)
                mine.append(
                    MyVotes(
                        category_id=category.id,
                        used=used,
                        limit=category.votes_per_voter,
                        candidates=chosen,
                    )
                )
    closes = campaign.voting_closes_at
    return CampaignPublic(
        id=campaign.id,
        title=campaign.title,
        year=campaign.year,
        campus=campaign.campus,
        version=campaign.version,
        phase=campaign.phase,
        phase_label=campaign.phase.label,
        next_phases=sorted(PHASES[campaign.phase], key=list(CampaignPhase).index),
        categories=campaign.categories,
        voting_closes_at=as_local(closes) if closes else None,
        voting_open=campaign.voting_open(utcnow()),
        publicity_from=campaign.publicity_from,
        publicity_until=campaign.publicity_until,
        candidates=shown,
        listed=campaign.listed if campaign.phase is not CampaignPhase.voting else [],
        elected=campaign.elected,
        my_votes=mine,
    )


@router.post("/commendations", status_code=status.HTTP_201_CREATED)
async def create_campaign(body: NewCampaign, book: Campaigns, user: Cadre) -> CampaignPublic:
    """Set up a campaign with its categories, quotas and rules, open for nominations; role:
    cadre of its campus."""
    return await campaign_public(await set_up(body, book, user), book, user)


class CampaignSummary(PublicModel):
    id: str
    title: str
    year: int
    campus: str
    phase: CampaignPhase
    phase_label: str
    voting_closes_at: LocalDatetime | None


@router.get("/commendations")
async def list_campaigns(book: Campaigns, user: CurrentUser) -> list[CampaignSummary]:
    """Campaigns of the caller's campuses and of the whole school, newest first; role: any
    signed-in user."""
    scope: dict[str, Any] = {}
    if not user.all_campuses:
        scope = {"campus": {"$in": sorted({*user.campuses, "*"})}}
    found = await book.campaigns.find(scope, sort=[("year", -1), ("_id", 1)], limit=200)
    return [CampaignSummary.of(c) for c in found]


@router.get("/commendations/{campaign_id}")
async def get_campaign(
    campaign_id: CampaignId, book: Campaigns, user: CurrentUser
) -> CampaignPublic:
    """The campaign: categories, candidates (with votes once voting closed), my votes, the
    publicity list and the result; role: any signed-in user of its scope."""
    return await campaign_public(await visible(book, campaign_id, user), book, user)


@router.post("/commendations/{campaign_id}/phase")
async def move_campaign(
    campaign_id: CampaignId, body: PhaseMove, book: Campaigns, user: Cadre
) -> CampaignPublic:
    """Move the campaign to its next phase (审核, 投票 with its closing time, 公示 with its dates,
    公布); 409 `campaign.invalid_transition` names the phase it is in; role: cadre of its
    campus."""
    campaign = await visible(book, campaign_id, user)
    return await campaign_public(await move(campaign, body, book, user), book, user)


class NominationPublic(CandidatePublic):
    nominator_id: str | None
    nominating_department: str | None
    attachments: list[Attachment]
    reason: str | None = Field(description="不通过的理由")


@router.post("/commendations/{campaign_id}/nominations", status_code=status.HTTP_201_CREATED)
async def create_nomination(
    campaign_id: CampaignId,
    body: NewNomination,
    book: Campaigns,
    directory: Directory,
    user: CurrentUser,
) -> NominationPublic:
    """Nominate a member (oneself or a colleague) in a category, with reasons and attachment
    metadata; a cadre may nominate for the union or a department; role: member or cadre of
    its scope."""
    campaign = await visible(book, campaign_id, user)
    return NominationPublic.of(
        await nominate_member(campaign, body, book, directory, user), votes=None
    )


@router.get("/commendations/{campaign_id}/nominations")
async def list_nominations(
    campaign_id: CampaignId, book: Campaigns, user: Cadre
) -> list[NominationPublic]:
    """Every nomination of the campaign with its review and votes; role: cadre of its campus."""
    campaign = await visible(book, campaign_id, user)
    runs(user, campaign)
    tally = await votes_of(campaign, book)
    return [
        NominationPublic.of(n, votes=tally.get(n.id, 0))
        for n in await book.nominations_of(campaign.id)
    ]


@router.post("/commendations/{campaign_id}/nominations/{nomination_id}/review")
async def review_nomination(
    campaign_id: CampaignId, nomination_id: NominationId, body: Review, book: Campaigns, user: Cadre
) -> NominationPublic:
    """Shortlist a nomination, or reject it with a reason; role: cadre of its campus."""
    campaign = await visible(book, campaign_id, user)
    return NominationPublic.of(await review(campaign, nomination_id, body, book, user), votes=None)


class VoteBody(BaseModel):
    candidates: list[str] = Field(
        min_length=1, max_length=50, description="候选人（推荐编号），每人一票"
    )


class VoteAnswer(BaseModel):
    results: dict[str, str] = Field(
        description="每位候选人：cast 已投 / again 已投过 / full 票数已用完 / closed 投票已截止、未计入"
    )
    used: int
    limit: int


@router.post("/commendations/{campaign_id}/categories/{category_id}/votes")
async def cast_votes(
    campaign_id: CampaignId,
    category_id: CategoryId,
    body: VoteBody,
    book: Campaigns,
    directory: Directory,
    user: CurrentUser,
) -> VoteAnswer:
    """Vote for shortlisted candidates of a category before the close: at most K per voter,
    one per candidate; the ballot keeps no voter; role: member of its scope."""
    campaign = await visible(book, campaign_id, user)
    cast = await vote(campaign, category_id, body.candidates, book, directory, user)
    limit = campaign.category(category_id).votes_per_voter
    return VoteAnswer(results=cast.answers, used=cast.used, limit=limit)


class ObjectionPublic(PublicModel):
    id: str
    campaign_id: str
    nomination_id: str
    member_id: str
    reason: str
    status: ObjectionStatus
    status_label: str
    answer: str | None


@router.post("/commendations/{campaign_id}/objections", status_code=status.HTTP_201_CREATED)
async def create_objection(
    campaign_id: CampaignId,
    body: NewObjection,
    book: Campaigns,
    directory: Directory,
    user: CurrentUser,
) -> ObjectionPublic:
    """Object (异议) to a listed candidate during the publicity, with a reason; role: member of
    its scope."""
    campaign = await visible(book, campaign_id, user)
    return ObjectionPublic.of(await object_to(campaign, body, book, directory, user))


@router.get("/commendations/{campaign_id}/objections")
async def list_objections(
    campaign_id: CampaignId, book: Campaigns, user: CurrentUser
) -> list[ObjectionPublic]:
    """Objections: all of them for a cadre of the campus, a member's own for a member; role:
    any signed-in user of its scope."""
    campaign = await visible(book, campaign_id, user)
    if user.has_role(Role.cadre) and user.can_access(campaign.campus):
        found = await book.objections_of(campaign.id)
    else:
        found = await book.objections_of(campaign.id, member_id=user.subject)
    return [ObjectionPublic.of(o) for o in found]


@router.post("/commendations/{campaign_id}/objections/{objection_id}/resolve")
async def resolve_objection(
    campaign_id: CampaignId, objection_id: ObjectionId, body: Resolve, book: Campaigns, user: Cadre
) -> ObjectionPublic:
    """Resolve an objection: upheld (the candidate leaves the list) or dismissed, with an
    answer; role: cadre of its campus."""
    campaign = await visible(book, campaign_id, user)
    return ObjectionPublic.of(await resolve(campaign, objection_id, body, book, user))


XLSX: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
        "description": "推荐审批表（XLSX）",
    }
}
FORM_HEADER = ["类别", "校区", "姓名", "部门", "推荐方式", "得票", "主要事迹", "附件"]


async def recommendation_rows(campaign: Campaign, book: CampaignBook) -> list[list[Any]]:
    """The recommendation form's rows: the result once published, else the current list."""
    chosen = campaign.elected or campaign.listed or await standing(campaign, book)
    found = await book.nominations.get_many([w.nomination_id for w in chosen])
    names = {c.id: c.name for c in campaign.categories}
    rows: list[list[Any]] = []
    for w in chosen:
        n = found.get(w.nomination_id)
        if n is None:
            continue
        files = "；".join(a.name for a in n.attachments)
        rows.append(
            [
                names.get(w.category_id, w.category_id),
                w.campus,
                n.name,
                n.department,
                n.by_kind.label,
                w.votes,
                n.reasons,
                files,
            ]
        )
    return rows


@router.get(
    "/commendations/{campaign_id}/recommendation.xlsx", response_class=Response, responses=XLSX
)
async def recommendation_form(
    campaign_id: CampaignId, book: Campaigns, audit: Audit, user: Cadre
) -> Response:
    """The recommendation form (推荐审批表, e.g. for 市劳模) as XLSX, audited; role: cadre of its
    campus."""
    campaign = await visible(book, campaign_id, user)
    runs(user, campaign)
    rows = await recommendation_rows(campaign, book)
    await audit.record(
        Actor.of(user), "export_recommendation", campaign.id, campaign.campus, rows=len(rows)
    )
    return Response(
        xlsx_bytes("推荐表", FORM_HEADER, rows),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="recommendation-{campaign.id}.xlsx"'
        },
    )

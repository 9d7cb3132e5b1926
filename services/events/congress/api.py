"""Staff congress routes (教代会): sessions and representatives, the proposal register and each
proposal's steps, resolutions and their votes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.events.congress.domain import (
    Assignment,
    Ballot,
    Decision,
    NewProposal,
    NewRepresentatives,
    NewResolution,
    NewSession,
    Proposal,
    ProposalCategory,
    ProposalStatus,
    Rating,
    RatingBody,
    Reply,
    ReplyBody,
    ResolutionStatus,
)
from services.events.congress.handlers import (
    ask_again,
    assign,
    close,
    cosign,
    decide,
    draft_proposal,
    endorse,
    propose_resolution,
    rate,
    register,
    register_from_terms,
    reply,
    set_up,
    submit,
    visible_proposal,
    visible_resolution,
    visible_session,
    vote,
)
from services.events.congress.store import CongressBook
from services.events.deps import Cadre, Directory
from shared.auth import CurrentUser, Principal
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.timeutil import as_local, local_today, utcnow

Congress = Annotated[CongressBook, Depends(provided("congress"))]
SessionId = Annotated[str, Path(pattern=r"^cg-[0-9a-f]{10}$", description="会议编号")]
ProposalId = Annotated[str, Path(pattern=r"^pp-[0-9a-f]{10}$", description="提案编号")]
ResolutionId = Annotated[str, Path(pattern=r"^rs-[0-9a-f]{10}$", description="决议编号")]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["教代会 staff congress"])


class ResolutionPublic(PublicModel):
    id: str
    session_id: str
    title: str
    text: str
    status: ResolutionStatus
    status_label: str
    representatives: int | None = Field(description="应到代表（表决结束时）")
    votes_for: int | None
    votes_against: int | None
    abstentions: int | None
    decided_at: LocalDatetime | None
    i_voted: bool = Field(description="我已投票（代表）")


class SessionPublic(BaseModel):
    id: str
    title: str
    year: int
    campus: str
    cosign_min: int = Field(description="提案需要的附议人数")
    proposals_until: datetime = Field(description="提案截止（北京时间）")
    open_for_proposals: bool
    heads: dict[str, str] = Field(description="代表团（校区）→ 团长会员编号")
    representatives: int
    i_am_representative: bool
    resolutions: list[ResolutionPublic]


async def session_public(session, book: CongressBook, user: Principal) -> SessionPublic:
    found = await book.resolutions.find({"session_id": session.id}, sort=[("_id", 1)], limit=200)
    voted = {r.id: await book.has_voted(r.id, user.subject) for r in found}
    return SessionPublic(
        id=session.id,
        title=session.title,
        year=session.year,
        campus=session.campus,
        cosign_min=session.cosign_min,
        proposals_until=as_local(session.proposals_until),
        open_for_proposals=session.open_for_proposals(utcnow()),
        heads=session.heads,
        representatives=await book.count_representatives(session.id),
        i_am_representative=await book.representative(session.id, user.subject) is not None,
        resolutions=[ResolutionPublic.of(r, i_voted=voted[r.id]) for r in found],
    )


@router.post("/congress/sessions", status_code=status.HTTP_201_CREATED)
async def create_session(body: NewSession, book: Congress, user: Cadre) -> SessionPublic:
    """Set up a congress session with its co-sign threshold and proposal deadline; role:
    cadre of its campus."""
    return await session_public(await set_up(body, book, user), book, user)


class SessionSummary(BaseModel):
    id: str
    title: str
    year: int
    campus: str


@router.get("/congress/sessions")
async def list_sessions(
    book: Congress,
    user: CurrentUser,
    q: Annotated[str | None, Query(max_length=50, description="按名称查找")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[SessionSummary]:
    """Sessions of the caller's campuses and of the whole school, newest first, past ones
    searchable by title and year; role: any signed-in user."""
    scope: dict[str, Any] = {}
    if not user.all_campuses:
        scope["campus"] = {"$in": sorted({*user.campuses, "*"})}
    if year is not None:
        scope["year"] = year
    found = await book.sessions.find(scope, sort=[("year", -1), ("_id", 1)], limit=500)
    words = (q or "").strip()
    return [
        SessionSummary(id=s.id, title=s.title, year=s.year, campus=s.campus)
        for s in found
        if words in s.title
    ]


@router.get("/congress/sessions/{session_id}")
async def get_session(session_id: SessionId, book: Congress, user: CurrentUser) -> SessionPublic:
    """A session: its settings, delegation heads, representatives' count, resolutions; role:
    any signed-in user of its scope."""
    return await session_public(await visible_session(book, session_id, user), book, user)


class RepresentativePublic(BaseModel):
    member_id: str
    name: str
    department: str
    delegation: str = Field(description="代表团（校区）")


@router.post("/congress/sessions/{session_id}/representatives")
async def add_representatives(
    session_id: SessionId,
    body: NewRepresentatives,
    book: Congress,
    directory: Directory,
    user: Cadre,
) -> list[RepresentativePublic]:
    """Register representatives by member id (from the member directory; twice is once) and
    optionally their delegation's head; role: cadre of its campus."""
    session = await visible_session(book, session_id, user)
    await register(session, body, book, directory, user)
    return [RepresentativePublic(**r) for r in await book.representatives_of(session.id)]


class ImportedRepresentatives(BaseModel):
    year: int = Field(description="任期须覆盖的年份（会议年度）")
    added: list[RepresentativePublic] = Field(description="本次登记的代表")
    already: list[RepresentativePublic] = Field(description="此前已登记的代表")


@router.post("/congress/sessions/{session_id}/representatives/from-terms")
async def add_representatives_from_terms(
    session_id: SessionId, book: Congress, directory: Directory, user: Cadre
) -> ImportedRepresentatives:
    """从代表任期导入: register the active members of its campus whose congress term covers
    the session's year (twice is once), saying who was added and who was there already;
    role: cadre of its campus."""
    session = await visible_session(book, session_id, user)
    added, already = await register_from_terms(session, book, directory, user)
    reps = {r["member_id"]: r for r in await book.representatives_of(session.id)}
    return ImportedRepresentatives(
        year=session.year,
        added=[RepresentativePublic(**reps[m]) for m in added],
        already=[RepresentativePublic(**reps[m]) for m in already],
    )


@router.get("/congress/sessions/{session_id}/representatives")
async def list_representatives(
    session_id: SessionId, book: Congress, user: CurrentUser
) -> list[RepresentativePublic]:
    """The session's representatives by delegation; role: any signed-in user of its scope."""
    session = await visible_session(book, session_id, user)
    return [RepresentativePublic(**r) for r in await book.representatives_of(session.id)]


class ProposalPublic(BaseModel):
    id: str
    session_id: str
    number: int | None = Field(description="提案编号（提交后）")
    title: str
    proposer_id: str
    proposer_name: str
    delegation: str
    reasons: str
    measures: str
    category: ProposalCategory
    department: str = Field(description="涉及部门")
    status: ProposalStatus
    status_label: str
    cosigners: list[str] = Field(description="附议代表")
    reason: str | None = Field(description="审查意见 / 理由")
    merged_into: str | None
    handling_department: str | None
    due_on: date | None
    overdue: bool = Field(description="已过答复期限")
    replies: list[Reply]
    rating: Rating | None
    second_asked: bool
    second_rating: Rating | None


def proposal_public(p: Proposal, cosigners: list[str]) -> ProposalPublic:
    data = p.model_dump(exclude={"replies"})
    return ProposalPublic(
        **data,
        status_label=p.status.label,
        cosigners=cosigners,
        overdue=p.overdue(local_today()),
        replies=[Reply(text=r.text, at=as_local(r.at), second=r.second) for r in p.replies],
    )


async def _answer(p: Proposal, book: CongressBook) -> ProposalPublic:
    return proposal_public(p, [c["name"] for c in await book.cosigners(p.id)])


@router.post("/congress/sessions/{session_id}/proposals", status_code=status.HTTP_201_CREATED)
async def create_proposal(
    session_id: SessionId, body: NewProposal, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Draft a proposal (案由、理由、措施、类别、涉及部门) before the deadline; role: a
    representative of the session."""
    session = await visible_session(book, session_id, user)
    return await _answer(await draft_proposal(session, body, book, user), book)


@router.get("/congress/sessions/{session_id}/proposals")
async def proposal_register(
    session_id: SessionId,
    book: Congress,
    user: CurrentUser,
    status_: Annotated[ProposalStatus | None, Query(alias="status")] = None,
    overdue: Annotated[bool | None, Query(description="只看逾期未答复的")] = None,
) -> list[ProposalPublic]:
    """The session's public register (number, title, proposer, co-signers, status, handling
    department, reply, rating); role: any signed-in user of its scope."""
    session = await visible_session(book, session_id, user)
    where: dict[str, Any] = {"session_id": session.id}
    if status_ is not None:
        where["status"] = status_.value
    found = await book.proposals.find(where, sort=[("number", 1), ("_id", 1)], limit=2000)
    names = await book.cosigners_of([p.id for p in found])
    shown = [proposal_public(p, names.get(p.id, [])) for p in found]
    return [p for p in shown if overdue is None or p.overdue == overdue]


@router.get("/congress/proposals/{proposal_id}")
async def get_proposal(
    proposal_id: ProposalId, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """One proposal with its co-signers, decision, replies and rating; role: any signed-in
    user of its scope."""
    return await _answer(await visible_proposal(book, proposal_id, user), book)


@router.post("/congress/proposals/{proposal_id}/cosign")
async def cosign_proposal(
    proposal_id: ProposalId, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Co-sign (附议) a draft before the deadline (twice is once); role: another
    representative of the session."""
    proposal = await visible_proposal(book, proposal_id, user)
    await cosign(proposal, book, user)
    return await _answer(proposal, book)


@router.post("/congress/proposals/{proposal_id}/submit")
async def submit_proposal(
    proposal_id: ProposalId, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Submit a draft with enough co-signers (409 `proposal.too_few_cosigners` below the
    threshold); it gets its register number; role: the proposer."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await submit(proposal, book, user), book)


@router.post("/congress/proposals/{proposal_id}/endorse")
async def endorse_proposal(
    proposal_id: ProposalId, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Endorse a submitted proposal; role: the head of the proposer's delegation."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await endorse(proposal, book, user), book)


@router.post("/congress/proposals/{proposal_id}/decision")
async def decide_proposal(
    proposal_id: ProposalId, body: Decision, book: Congress, user: Cadre
) -> ProposalPublic:
    """The proposal committee's decision: 立案, 转为意见建议, 并案 or 不予立案 with a reason;
    role: cadre of its campus (the committee)."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await decide(proposal, body, book, user), book)


@router.post("/congress/proposals/{proposal_id}/assignment")
async def assign_proposal(
    proposal_id: ProposalId, body: Assignment, book: Congress, user: Cadre
) -> ProposalPublic:
    """Send an accepted proposal to its handling department with a due date; role: cadre of
    its campus."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await assign(proposal, body, book, user), book)


@router.post("/congress/proposals/{proposal_id}/reply")
async def reply_proposal(
    proposal_id: ProposalId, body: ReplyBody, book: Congress, user: Cadre
) -> ProposalPublic:
    """Record the handling department's reply (also the second one); role: cadre of its
    campus, for the department."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await reply(proposal, body.text, book, user), book)


@router.post("/congress/proposals/{proposal_id}/rating")
async def rate_proposal(
    proposal_id: ProposalId, body: RatingBody, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Rate the reply: 满意 / 基本满意 / 不满意; role: the proposer."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await rate(proposal, body.rating, book, user), book)


@router.post("/congress/proposals/{proposal_id}/second-reply")
async def ask_second_reply(
    proposal_id: ProposalId, book: Congress, user: CurrentUser
) -> ProposalPublic:
    """Ask once for a second reply after rating (a new due date 15 days on); role: the
    proposer."""
    proposal = await visible_proposal(book, proposal_id, user)
    return await _answer(await ask_again(proposal, book, user), book)


@router.post("/congress/sessions/{session_id}/resolutions", status_code=status.HTTP_201_CREATED)
async def create_resolution(
    session_id: SessionId, body: NewResolution, book: Congress, user: Cadre
) -> ResolutionPublic:
    """Put a resolution to the representatives' vote; role: cadre of its campus."""
    session = await visible_session(book, session_id, user)
    return ResolutionPublic.of(await propose_resolution(session, body, book, user), i_voted=False)


@router.post("/congress/resolutions/{resolution_id}/votes")
async def vote_resolution(
    resolution_id: ResolutionId, body: Ballot, book: Congress, user: CurrentUser
) -> ResolutionPublic:
    """Vote for, against or abstain, once (the ballot keeps no voter); role: a representative
    of the session."""
    resolution = await visible_resolution(book, resolution_id, user)
    await vote(resolution, body.choice, book, user)
    return ResolutionPublic.of(resolution, i_voted=True)


@router.post("/congress/resolutions/{resolution_id}/close")
async def close_resolution(
    resolution_id: ResolutionId, book: Congress, user: Cadre
) -> ResolutionPublic:
    """Close the vote: the quorum rule (two thirds take part, more than half of all
    representatives for) decides, the result is recorded and published; role: cadre of its
    campus."""
    resolution = await visible_resolution(book, resolution_id, user)
    return ResolutionPublic.of(await close(resolution, book, user), i_voted=False)

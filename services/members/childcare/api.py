"""Childcare survey routes (入园入托统计): rounds, answers, who has not answered, statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from services.members.childcare.domain import (
    AGE_BANDS,
    BAND_LABEL,
    MAX_CHILDREN,
    Answer,
    CareStatus,
    Child,
    OpenRound,
    Round,
    RoundStatus,
)
from services.members.childcare.handlers import (
    answer_round,
    close_collection,
    my_answer,
    open_collection,
    set_children,
    statistics,
    unanswered,
)
from services.members.childcare.store import NOT_FOUND, Rounds
from services.members.deps import Cadre, MemberId
from services.members.membership.api import Members
from services.members.membership.domain import Member
from services.members.membership.store import NOT_FOUND as MEMBER_NOT_FOUND
from services.members.org.api import Org
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.errors import Forbidden, NotFound
from shared.export import csv_bytes
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.text import PLAIN_TEXT
from shared.timeutil import as_local

Childcare = Annotated[Rounds, Depends(provided("childcare"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["入园入托统计 childcare"])

RoundId = Annotated[
    str, Path(pattern=r"^cc-[a-z][a-z0-9-]{0,31}-\d{8}$", description="统计轮次编号")
]
CSV = "text/csv; charset=utf-8"


class RoundPublic(BaseModel):
    id: str
    campus: str
    title: str
    survey_date: date = Field(description="统计日期：子女年龄按这一天计算")
    deadline: date | None
    status: RoundStatus = Field(description="open 收集中 / closed 已结束")
    opened_on: date
    closed_on: date | None
    answered: int | None = Field(description="结束时已填报的会员数")
    expected: int | None = Field(description="结束时应填报（在会）的会员数")

    @classmethod
    def of(cls, found: Round) -> RoundPublic:
        return cls(**found.model_dump(exclude={"version"}))


class RoundPage(BaseModel):
    items: list[RoundPublic]
    total: int
    limit: int
    offset: int


class Children(BaseModel):
    """What a member states: all their children (an empty list: none)."""

    children: list[Child] = Field(max_length=MAX_CHILDREN, description="全部子女（空表示无）")


class Confirmation(BaseModel):
    """A member's answer in a round: confirm the children on record (omit `children`), or
    state them anew and confirm."""

    children: list[Child] | None = Field(
        None, max_length=MAX_CHILDREN, description="省略：确认已登记的子女信息；给出：先更新再确认"
    )


class AnswerPublic(BaseModel):
    round_id: str
    member_id: str
    revision: int = Field(description="1 为首次填报；之后修改子女信息再确认时递增")
    at: datetime = Field(description="填报时间（北京时间）")
    children: list[Child]
    replayed: bool = Field(False, description="重复确认：答复已是如此，未新增记录")

    @classmethod
    def of(cls, answer: Answer, replayed: bool = False) -> AnswerPublic:
        return cls(
            round_id=answer.round_id,
            member_id=answer.member_id,
            revision=answer.revision,
            at=as_local(answer.at),
            children=answer.children,
            replayed=replayed,
        )


class MemberChildren(BaseModel):
    member_id: str
    version: int = Field(description="会员记录版本")
    children: list[Child]


class Pending(BaseModel):
    member_id: str
    staff_no: str
    name: str
    department: str
    small_group: str | None


class PendingPage(BaseModel):
    items: list[Pending]
    total: int = Field(description="尚未填报的在会会员数")
    limit: int
    offset: int


class BandPublic(BaseModel):
    code: str
    label: str


class GroupPublic(BaseModel):
    campus: str
    age_band: str
    care_status: CareStatus
    institution: str = Field(description="就读机构；空表示未填写或未入托入园")
    count: int


class StatsPublic(BaseModel):
    round_id: str
    campus: str
    survey_date: date
    status: RoundStatus
    expected: int = Field(description="应填报（在会）会员数")
    answered: int = Field(description="已填报会员数")
    children: int = Field(description="统计的子女数")
    not_born_yet: int = Field(description="统计日期之后出生、未计入的子女数")
    age_bands: list[BandPublic] = Field(description="年龄段（按统计日期的周岁）")
    groups: list[GroupPublic] = Field(description="按校区、年龄段、就读状态、机构的人数")
    by_campus: dict[str, int]
    by_age_band: dict[str, int]
    by_care_status: dict[str, int]
    by_institution: dict[str, int]


def visible_round(user: Principal, found: Round) -> None:
    """A round of another campus is answered as not found."""
    if not user.can_access(found.campus):
        raise NotFound(*NOT_FOUND, id=found.id)


async def readable(rounds: Rounds, round_id: str, user: Principal) -> Round:
    found = await rounds.store.require(round_id)
    visible_round(user, found)
    return found


# -- rounds -----------------------------------------------------------------------------------


@router.post("/childcare/rounds", status_code=status.HTTP_201_CREATED)
async def open_round(body: OpenRound, rounds: Childcare, org: Org, user: Cadre) -> RoundPublic:
    """开始一轮入园入托统计 for a campus and a survey date; role: cadre of the campus."""
    user.require_campus(body.campus)
    return RoundPublic.of(await open_collection(body, rounds, org, Actor.of(user)))


@router.get("/childcare/rounds")
async def list_rounds(
    rounds: Childcare,
    user: CurrentUser,
    campus: Annotated[str | None, Query(max_length=32, pattern=PLAIN_TEXT)] = None,
    status_: Annotated[RoundStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> RoundPage:
    """Rounds on the caller's campuses, newest survey date first; role: member or cadre."""
    query = user.campus_filter()
    if campus is not None:
        user.require_campus(campus)
        query = {"campus": campus}
    if status_ is not None:
        query["status"] = status_.value
    items = await rounds.store.find(
        query, sort=[("survey_date", -1), ("_id", 1)], skip=offset, limit=limit
    )
    total = await rounds.store.count(query)
    return RoundPage(
        items=[RoundPublic.of(r) for r in items], total=total, limit=limit, offset=offset
    )


@router.get("/childcare/rounds/{round_id}")
async def get_round(round_id: RoundId, rounds: Childcare, user: CurrentUser) -> RoundPublic:
    """One round; role: member or cadre of its campus."""
    return RoundPublic.of(await readable(rounds, round_id, user))


@router.post("/childcare/rounds/{round_id}/close")
async def close_round(
    round_id: RoundId, rounds: Childcare, members: Members, user: Cadre
) -> RoundPublic:
    """结束收集: no more answers, the statistics are final; role: cadre of the campus."""
    closed = await close_collection(
        round_id, rounds, members, Actor.of(user), lambda r: visible_round(user, r)
    )
    return RoundPublic.of(closed)


# -- answers ----------------------------------------------------------------------------------


def require_member(user: Principal) -> None:
    if Role.member not in user.roles:  # an admin's token without `member` does not answer
        raise Forbidden("auth.forbidden", "只有会员本人可以填报", roles=["member"])


@router.put("/childcare/rounds/{round_id}/answer")
async def answer(
    round_id: RoundId,
    body: Confirmation,
    rounds: Childcare,
    members: Members,
    user: CurrentUser,
) -> AnswerPublic:
    """The signed-in member confirms (or updates, then confirms) their children in a round of
    their campus; confirming again is the same answer; role: member (only for themself)."""
    require_member(user)
    done = await answer_round(
        round_id, user.subject, body.children, rounds, members, Actor.of(user)
    )
    return AnswerPublic.of(done.answer, done.replayed)


@router.get("/childcare/rounds/{round_id}/answer")
async def get_answer(round_id: RoundId, rounds: Childcare, user: CurrentUser) -> AnswerPublic:
    """The signed-in member's answer in a round; role: member (only their own)."""
    require_member(user)
    await readable(rounds, round_id, user)
    return AnswerPublic.of(await my_answer(round_id, user.subject, rounds))


@router.get("/childcare/rounds/{round_id}/unanswered")
async def list_unanswered(
    round_id: RoundId,
    rounds: Childcare,
    members: Members,
    user: Cadre,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> PendingPage:
    """Active members of the round's campus who have not answered, by staff number, a page at
    a time with the total; role: cadre of the campus."""
    found = await readable(rounds, round_id, user)
    items, total = await unanswered(found, rounds, members, limit, offset)
    return PendingPage(
        items=[
            Pending(
                member_id=m.id,
                staff_no=m.staff_no,
                name=m.name,
                department=m.department,
                small_group=m.small_group,
            )
            for m in items
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


# -- statistics -------------------------------------------------------------------------------


@router.get("/childcare/rounds/{round_id}/stats")
async def round_stats(
    round_id: RoundId, rounds: Childcare, members: Members, user: Cadre
) -> StatsPublic:
    """Children by campus, age band at the survey date (0–2, 3–5, 6–11, 12+ completed years),
    care status and institution; role: cadre of the campus."""
    found = await readable(rounds, round_id, user)
    stats = await statistics(found, rounds, members)
    t = stats.tally
    return StatsPublic(
        round_id=found.id,
        campus=found.campus,
        survey_date=found.survey_date,
        status=found.status,
        expected=stats.expected,
        answered=t.answered,
        children=t.children,
        not_born_yet=t.not_born_yet,
        age_bands=[BandPublic(code=b.code, label=b.label) for b in AGE_BANDS],
        groups=[
            GroupPublic(
                campus=g.campus,
                age_band=g.age_band,
                care_status=g.care_status,
                institution=g.institution,
                count=g.count,
            )
            for g in t.groups
        ],
        by_campus=t.by_campus,
        by_age_band=t.by_age_band,
        by_care_status=t.by_care_status,
        by_institution=t.by_institution,
    )


@router.get(
    "/childcare/rounds/{round_id}/stats.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "UTF-8 CSV（带 BOM）"}},
)
async def round_stats_csv(
    round_id: RoundId, rounds: Childcare, members: Members, org: Org, user: Cadre
) -> Response:
    """The statistics as CSV (UTF-8 with BOM, so Chinese Excel opens it); role: cadre of the
    campus."""
    found = await readable(rounds, round_id, user)
    stats = await statistics(found, rounds, members)
    names = {c.id: c.name for c in await org.campuses()}
    rows: list[list[str | int]] = [
        [
            names.get(g.campus, g.campus),
            BAND_LABEL[g.age_band],
            CareStatus.label_of(g.care_status),
            g.institution,
            g.count,
        ]
        for g in stats.tally.groups
    ]
    rows.append(["合计", "", "", "", stats.tally.children])
    name = f"{found.title}-{found.survey_date.isoformat()}.csv"
    return Response(
        csv_bytes(["校区", "年龄段", "就读状态", "就读机构", "人数"], rows),
        media_type=CSV,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# -- a member's children ----------------------------------------------------------------------


def own_or_admin(user: Principal, member: Member) -> None:
    """Children are shown to and stated by the member themself, or an admin of the campus."""
    if user.subject == member.id:
        return
    if Role.admin in user.roles and user.can_access(member.campus):
        return
    raise NotFound(*MEMBER_NOT_FOUND, id=member.id)


def _own_or_admin_route(user: Principal, member_id: str) -> None:
    if Role.admin not in user.roles:
        user.require_self(member_id, "只有本人或管理员可以查看、填写子女信息")


@router.get("/members/{member_id}/children")
async def get_children(member_id: MemberId, members: Members, user: CurrentUser) -> MemberChildren:
    """A member's children; role: the member themself, or admin of their campus."""
    _own_or_admin_route(user, member_id)
    member = await members.store.require(member_id)
    own_or_admin(user, member)
    return MemberChildren(member_id=member.id, version=member.version, children=member.children)


@router.put("/members/{member_id}/children")
async def put_children(
    member_id: MemberId, body: Children, members: Members, user: CurrentUser
) -> MemberChildren:
    """State a member's children (the whole list; a recorded change); role: the member
    themself, or admin of their campus."""
    _own_or_admin_route(user, member_id)
    member = await set_children(
        member_id, body.children, members, Actor.of(user), lambda m: own_or_admin(user, m)
    )
    return MemberChildren(member_id=member.id, version=member.version, children=member.children)

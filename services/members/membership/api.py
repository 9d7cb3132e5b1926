"""Membership routes: each turns a request into a command or a scoped query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from services.members.deps import Auditor, Cadre, Members
from services.members.membership.domain import JoinMember, Member, MemberStatus
from services.members.membership.handlers import join_member, withdraw_member
from services.members.membership.store import NOT_FOUND
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.text import mask_email, mask_phone
from shared.timeutil import as_local

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["会员 members"])

MAX_OFFSET = 1_000_000  # deeper pages are not a person's need; filters are


class MemberPublic(BaseModel):
    id: str
    version: int = Field(description="会籍记录版本（每次变更加一）")
    staff_no: str
    name: str
    campus: str
    department: str
    email: str | None = Field(description="非本人或管理员时脱敏")
    phone: str | None = Field(description="非本人或管理员时脱敏")
    status: MemberStatus
    joined_on: date
    withdrawn_on: date | None = None

    @classmethod
    def of(cls, member: Member, viewer: Principal) -> MemberPublic:
        # Personal data is masked unless the viewer is the member or an admin.
        full = viewer.subject == member.id or Role.admin in viewer.roles
        return cls(
            **member.model_dump(exclude={"email", "phone"}),
            email=member.email if full else mask_email(member.email),
            phone=member.phone if full else mask_phone(member.phone),
        )


class ChangePublic(BaseModel):
    version: int
    action: str = Field(description="join / withdraw / …")
    by: str = Field(description="操作人（令牌主体）")
    request: str | None = Field(description="请求的 trace id，可在日志中查到同一请求")
    at: datetime = Field(description="北京时间 Asia/Shanghai")
    changed: dict[str, dict[str, Any]] = Field(description="字段 → {from, to}；敏感字段显示 ***")
    events: list[str] = Field(description="这次变更发布的事件类型")


def visible(user: Principal, member: Member) -> None:
    """A member outside the caller's campuses is answered as not found (no probing)."""
    if user.subject != member.id and not user.can_access(member.campus):
        raise NotFound(*NOT_FOUND, id=member.id)


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def create_member(body: JoinMember, members: Members, user: Cadre) -> MemberPublic:
    """Enrol a member (入会); role: cadre, on one of the caller's campuses."""
    user.require_campus(body.campus.strip())
    member = await join_member(body, members, Actor.of(user))
    return MemberPublic.of(member, user)


@router.get("/members")
async def list_members(
    members: Members,
    user: Cadre,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[MemberPublic]:
    """List members on the caller's campuses; role: cadre."""
    page = await members.list(user.campus_filter(), limit, offset)
    return [MemberPublic.of(m, user) for m in page]


@router.get("/members/{member_id}")
async def get_member(member_id: str, members: Members, user: CurrentUser) -> MemberPublic:
    """One member, as of the last change answered; role: the member themself, or cadre."""
    if user.subject != member_id and not user.has_role(Role.cadre):
        raise ProblemError("auth.forbidden", 403, "只能查看本人的会员信息")
    member = await members.store.require(member_id)
    visible(user, member)
    return MemberPublic.of(member, user)


@router.post("/members/{member_id}/withdraw")
async def withdraw(member_id: str, members: Members, user: Cadre) -> MemberPublic:
    """退会: an active member leaves the union; role: cadre of the member's campus."""
    member = await withdraw_member(member_id, members, Actor.of(user), lambda m: visible(user, m))
    return MemberPublic.of(member, user)


@router.get("/members/{member_id}/history")
async def member_history(member_id: str, members: Members, user: Auditor) -> list[ChangePublic]:
    """Every recorded change of a member (audit trail); role: auditor or admin."""
    visible(user, await members.store.require(member_id))
    return [
        ChangePublic(
            version=c.version,
            action=c.action,
            by=c.by,
            request=c.request,
            at=as_local(c.at),
            changed=c.changed,
            events=c.events,
        )
        for c in await members.store.history(member_id)
    ]

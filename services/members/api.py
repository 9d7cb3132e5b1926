"""Members' HTTP routes: each turns a request into a command or a scoped query."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from services.members.domain import JoinMember, Member, MembershipError, MemberStatus
from services.members.handlers import join_member
from services.members.store import MemberStore
from shared.auth import CurrentUser, Principal, Role, jwks, require
from shared.observability import current_traceparent
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.text import mask_email, mask_phone

router = APIRouter(responses=PROBLEM_RESPONSES)


class MemberCreate(BaseModel):
    staff_no: str = Field(min_length=1, max_length=32, description="工号", examples=["T2023001"])
    name: str = Field(min_length=1, max_length=64, description="姓名", examples=["王芳"])
    campus: str = Field(min_length=1, max_length=32, description="校区代码", examples=["main"])
    department: str = Field(min_length=1, max_length=64, description="部门/系部")
    email: str | None = Field(None, max_length=128, description="邮箱（接收通知）")
    phone: str | None = Field(None, max_length=32, description="手机号")


class MemberPublic(BaseModel):
    id: str
    staff_no: str
    name: str
    campus: str
    department: str
    email: str | None = Field(description="非本人或管理员时脱敏")
    phone: str | None = Field(description="非本人或管理员时脱敏")
    status: MemberStatus
    joined_on: date

    @classmethod
    def of(cls, member: Member, viewer: Principal) -> MemberPublic:
        # Personal data is masked unless the viewer is the member or an admin.
        full = viewer.subject == member.id or Role.admin in viewer.roles
        return cls(
            id=member.id,
            staff_no=member.staff_no,
            name=member.name,
            campus=member.campus,
            department=member.department,
            email=member.email if full else mask_email(member.email),
            phone=member.phone if full else mask_phone(member.phone),
            status=member.status,
            joined_on=member.joined_on,
        )


def get_store(request: Request) -> MemberStore:
    return request.app.state.member_store


Store = Annotated[MemberStore, Depends(get_store)]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]


def _as_problem(exc: MembershipError) -> ProblemError:
    status_code = 409 if exc.code == "member.duplicate_staff_no" else 422
    return ProblemError(exc.code, status_code, str(exc))


@router.post("/members", status_code=status.HTTP_201_CREATED, tags=["会员 members"])
async def create_member(body: MemberCreate, store: Store, user: Cadre) -> MemberPublic:
    """Enrol a member (入会); role: cadre, on one of the caller's campuses."""
    user.require_campus(body.campus.strip())
    cmd = JoinMember(**body.model_dump(), enrolled_by=user.subject)
    try:
        member = await join_member(cmd, store, current_traceparent())
    except MembershipError as exc:
        raise _as_problem(exc) from exc
    return MemberPublic.of(member, user)


@router.get("/members", tags=["会员 members"])
async def list_members(
    store: Store,
    user: Cadre,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[MemberPublic]:
    """List members on the caller's campuses; role: cadre."""
    return [MemberPublic.of(m, user) for m in await store.list(user.campus_filter(), limit, offset)]


@router.get("/members/{member_id}", tags=["会员 members"])
async def get_member(member_id: str, store: Store, user: CurrentUser) -> MemberPublic:
    """One member; role: the member themself, or cadre on the member's campus."""
    if user.subject != member_id and not user.has_role(Role.cadre):
        raise ProblemError("auth.forbidden", 403, "只能查看本人的会员信息")
    scope = {} if user.subject == member_id else user.campus_filter()
    member = await store.get(member_id, scope)
    if member is None:
        raise ProblemError("member.not_found", 404, "未找到该会员")
    return MemberPublic.of(member, user)


@router.get("/.well-known/jwks.json", tags=["认证 auth"])
async def signing_keys(request: Request) -> dict:
    """The public keys that verify Gonghui tokens; public."""
    return jwks(request.app.state.token_verifier.public_key)

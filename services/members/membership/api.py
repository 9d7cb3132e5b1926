"""Membership routes: each turns a request into a command or a scoped query."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from services.members.deps import Audit, Auditor, Cadre, MemberId
from services.members.membership.children import Child
from services.members.membership.domain import (
    CongressTerm,
    ContactDetails,
    EmploymentType,
    Gender,
    JoinMember,
    Member,
    MemberStatus,
    UnionRole,
    UpdateDetails,
)
from services.members.membership.export import to_csv, to_xlsx
from services.members.membership.handlers import (
    act,
    change_contact,
    confirm_email,
    join_member,
    lifecycle,
    transfer_member,
    update_member,
    visible,
)
from services.members.membership.store import MemberFilter, MemberRegistry
from services.members.org.api import Org
from shared.aggregate import Actor
from shared.audit import AuditLog
from shared.auth import CurrentUser, Principal, Role
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.text import PLAIN_TEXT, VISIBLE_TEXT, mask_email, mask_phone
from shared.timeutil import Day, as_local, local_today

Members = Annotated[MemberRegistry, Depends(provided("members"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["会员 members"])

MAX_OFFSET = 1_000_000  # deeper pages are not a person's need; filters are


def mask_id_number(number: str | None) -> str | None:
    return f"{number[:4]}{'*' * 10}{number[-4:]}" if number else None


class MemberPublic(BaseModel):
    id: str
    version: int = Field(description="会籍记录版本（每次变更加一）")
    staff_no: str
    name: str
    campus: str
    department: str
    gender: Gender | None
    birth_date: date | None
    position: str | None
    employment_type: EmploymentType | None
    hire_date: date | None
    small_group: str | None
    roles: list[UnionRole]
    congress_terms: list[CongressTerm]
    status: MemberStatus
    applied_on: date | None
    joined_on: date | None
    left_on: date | None
    reject_reason: str | None
    phone: str | None = Field(description="非本人或管理员时脱敏")
    email: str | None = Field(description="本人已确认的邮箱；非本人或管理员时脱敏")
    pending_email: str | None = Field(
        None, description="已填写、待本人登录后点击确认链接的新邮箱；非本人或管理员时脱敏"
    )
    wecom_userid: str | None = Field(description="非本人或管理员时不显示")
    id_number: str | None = Field(description="总是脱敏；明文须经 reveal 接口（记入审计日志）")
    salary_base_fen: int | None = Field(description="会费基数（分）：仅本人、经费管理与管理员可见")
    children: list[Child] | None = Field(None, description="子女信息：仅本人与管理员可见")

    @classmethod
    def of(cls, member: Member, viewer: Principal) -> MemberPublic:
        # Personal data is masked unless the viewer is the member or their role needs it.
        own = viewer.subject == member.id
        contact = own or Role.admin in viewer.roles
        money = own or viewer.has_role(Role.finance)
        secret = {
            "phone",
            "email",
            "pending_email",
            "wecom_userid",
            "id_number",
            "salary_base_fen",
            "children",
        }
        return cls(
            **member.model_dump(exclude=secret),
            phone=member.phone if contact else mask_phone(member.phone),
            email=member.email if contact else mask_email(member.email),
            pending_email=member.pending_email if contact else mask_email(member.pending_email),
            wecom_userid=member.wecom_userid if contact else None,
            id_number=mask_id_number(member.id_number),
            salary_base_fen=member.salary_base_fen if money else None,
            children=member.children if contact else None,
        )


public = MemberPublic.of

_CONTACT_MASKS: dict[str, Callable[[Any], Any]] = {
    "phone": mask_phone,
    "email": mask_email,
    "pending_email": mask_email,
    "wecom_userid": lambda _: None,
}


def masked_changes(
    changed: dict[str, dict[str, Any]], viewer: Principal
) -> dict[str, dict[str, Any]]:
    """A change's field diffs as a viewer may see them: contact details masked unless an
    admin reads (secret fields show *** for everyone already)."""
    if Role.admin in viewer.roles:
        return changed
    return {
        key: {side: _CONTACT_MASKS[key](v) for side, v in diff.items()}
        if key in _CONTACT_MASKS
        else diff
        for key, diff in changed.items()
    }


class MemberPage(BaseModel):
    items: list[MemberPublic]
    total: int = Field(description="符合筛选条件的会员总数")
    limit: int
    offset: int


class ChangePublic(BaseModel):
    version: int
    action: str = Field(description="join / approve / withdraw / update / …")
    by: str = Field(description="操作人（令牌主体）")
    request: str | None = Field(description="请求的 trace id，可在日志中查到同一请求")
    at: datetime = Field(description="北京时间 Asia/Shanghai")
    changed: dict[str, dict[str, Any]] = Field(
        description="字段 → {from, to}；敏感字段显示 ***，联系方式除管理员外脱敏"
    )
    events: list[str] = Field(description="这次变更发布的事件类型")


# -- enrolment --------------------------------------------------------------------------------


@router.post("/members", status_code=status.HTTP_201_CREATED)
async def create_member(body: JoinMember, members: Members, org: Org, user: Cadre) -> MemberPublic:
    """Enrol a member (入会) or record an application; role: cadre of the campus (admin for
    union roles that give more than the caller has)."""
    return public(await join_member(body, members, org, user), user)


class Application(JoinMember):
    as_applicant: Literal[True] = Field(True, description="自助申请总是待审批")


@router.post("/applications", status_code=status.HTTP_201_CREATED)
async def apply(body: Application, members: Members, org: Org, user: CurrentUser) -> MemberPublic:
    """申请入会: a member of staff applies (through the portal); role: member or system. The
    e-mail given waits for the member's own confirmation once they can sign in."""
    user.require(Role.member, Role.system, Role.cadre)
    return public(await join_member(body, members, org, user, application=True), user)


# -- reading ----------------------------------------------------------------------------------


def member_filter(
    department: Annotated[str | None, Query(max_length=64, pattern=PLAIN_TEXT)] = None,
    status_: Annotated[MemberStatus | None, Query(alias="status")] = None,
    gender: Gender | None = None,
    role: UnionRole | None = None,
    small_group: Annotated[str | None, Query(max_length=32, pattern=PLAIN_TEXT)] = None,
    age_min: Annotated[int | None, Query(ge=0, le=120)] = None,
    age_max: Annotated[int | None, Query(ge=0, le=120)] = None,
    q: Annotated[
        str | None, Query(max_length=32, pattern=PLAIN_TEXT, description="姓名的一部分或工号开头")
    ] = None,
) -> MemberFilter:
    return MemberFilter(department, status_, gender, role, small_group, age_min, age_max, q)


Filter = Annotated[MemberFilter, Depends(member_filter)]


@router.get("/members")
async def list_members(
    members: Members,
    user: Cadre,
    filters: Filter,
    campus: Annotated[str | None, Query(max_length=32, pattern=PLAIN_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> MemberPage:
    """Find members on the caller's campuses, a page at a time with the total; role: cadre."""
    scope = user.campus_filter()
    if campus is not None:
        user.require_campus(campus)
        scope = {"campus": campus}
    items, total = await members.page(filters.query(scope, local_today()), limit, offset)
    return MemberPage(
        items=[public(m, user) for m in items], total=total, limit=limit, offset=offset
    )


EXPORT_LIMIT = 20_000  # a school's whole union fits; beyond that, filter
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _export(
    members: MemberRegistry, audit: AuditLog, user: Principal, filters: MemberFilter, fmt: str
) -> Response:
    query = filters.query(user.campus_filter(), local_today())
    items, total = await members.page(query, EXPORT_LIMIT, 0)
    records = [public(m, user).model_dump(mode="json") for m in items]
    await audit.record(
        Actor.of(user), "export", "members", ",".join(sorted(user.campuses)), rows=len(records)
    )
    name = f"会员名册-{local_today().isoformat()}.{fmt}"
    body, media = (to_csv(records), CSV) if fmt == "csv" else (to_xlsx(records), XLSX)
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    headers = {"Content-Disposition": disposition, "X-Total-Count": str(total)}
    return Response(body, media_type=media, headers=headers)


@router.get(
    "/exports/members.csv",
    response_class=Response,
    responses={200: {"content": {CSV: {}}, "description": "UTF-8 CSV（带 BOM）"}},
)
async def export_csv(members: Members, audit: Audit, user: Cadre, filters: Filter) -> Response:
    """The filtered member list as CSV, masked as the caller may see it; role: cadre."""
    return await _export(members, audit, user, filters, "csv")


@router.get(
    "/exports/members.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "Excel 工作簿"}},
)
async def export_xlsx(members: Members, audit: Audit, user: Cadre, filters: Filter) -> Response:
    """The filtered member list as XLSX, masked as the caller may see it; role: cadre."""
    return await _export(members, audit, user, filters, "xlsx")


@router.get("/members/{member_id}")
async def get_member(member_id: MemberId, members: Members, user: CurrentUser) -> MemberPublic:
    """One member, as of the last change answered; role: the member themself, or cadre."""
    if not user.has_role(Role.cadre, Role.finance, Role.auditor):
        user.require_self(member_id, "只能查看本人的会员信息")
    member = await members.store.require(member_id)
    visible(user, member)
    return public(member, user)


class Reveal(BaseModel):
    field: Literal["id_number", "salary_base_fen"] = Field(description="要查看明文的字段")
    purpose: str = Field(max_length=200, pattern=VISIBLE_TEXT, description="用途（记入审计日志）")


class Revealed(BaseModel):
    field: str
    value: str | int | None


@router.post("/members/{member_id}/reveal")
async def reveal(
    member_id: MemberId, body: Reveal, members: Members, audit: Audit, user: CurrentUser
) -> Revealed:
    """The clear value of a masked field, written to the audit log; role: admin (ID number),
    finance (salary base), or the member themself."""
    if user.subject != member_id:
        user.require(Role.admin if body.field == "id_number" else Role.finance)
    member = await members.store.require(member_id)
    visible(user, member)
    actor = Actor.of(user)
    await audit.record(
        actor, "reveal", member.id, member.campus, field=body.field, purpose=body.purpose
    )
    return Revealed(field=body.field, value=getattr(member, body.field))


@router.get("/members/{member_id}/history")
async def member_history(
    member_id: MemberId, members: Members, user: Auditor
) -> list[ChangePublic]:
    """Every recorded change of a member (audit trail); role: auditor or admin."""
    visible(user, await members.store.require(member_id))
    return [
        ChangePublic(
            version=c.version,
            action=c.action,
            by=c.by,
            request=c.request,
            at=as_local(c.at),
            changed=masked_changes(c.changed, user),
            events=c.events,
        )
        for c in await members.store.history(member_id)
    ]


# -- changes ----------------------------------------------------------------------------------


class Dated(BaseModel):
    on: Day | None = Field(None, description="生效日期；默认今天（北京时间）")


class Rejection(BaseModel):
    reason: str = Field(max_length=500, pattern=VISIBLE_TEXT, description="驳回原因")


class Transfer(Dated):
    to_campus: str = Field(max_length=32, pattern=VISIBLE_TEXT, description="转入校区代码")


async def _step(
    member_id: MemberId,
    action: str,
    members: Members,
    user: Principal,
    on: date | None,
    reason: str | None = None,
) -> MemberPublic:
    decide = lifecycle(action, on, reason)
    return public(await act(members, member_id, action, decide, user), user)


# The dated steps of the lifecycle table, one route each: POST /members/{id}/<action>.
DATED_STEPS = {
    "approve": "批准入会 (applied → active)",
    "reapply": "重新申请 (rejected or withdrawn → applied)",
    "withdraw": "退会 (active → withdrawn)",
    "retire": "登记退休 (active → retired, still a member)",
    "decease": "登记去世 (active or retired → deceased)",
}


def _dated_route(action: str, summary: str) -> None:
    async def step(
        member_id: MemberId, members: Members, user: Cadre, body: Dated | None = None
    ) -> MemberPublic:
        return await _step(member_id, action, members, user, body.on if body else None)

    step.__name__ = action
    step.__doc__ = f"{summary}; role: cadre of the member's campus."
    router.post(f"/members/{{member_id}}/{action}")(step)


for _action, _summary in DATED_STEPS.items():
    _dated_route(_action, _summary)


@router.post("/members/{member_id}/reject")
async def reject(
    member_id: MemberId, body: Rejection, members: Members, user: Cadre
) -> MemberPublic:
    """驳回入会申请, keeping the reason (applied → rejected); role: cadre of the campus."""
    return await _step(member_id, "reject", members, user, None, body.reason)


@router.post("/members/{member_id}/transfer")
async def transfer(
    member_id: MemberId, body: Transfer, members: Members, org: Org, user: Cadre
) -> MemberPublic:
    """转校区 (stays active); role: cadre of both campuses (or of the school)."""
    member = await transfer_member(member_id, body.to_campus, body.on, members, org, user)
    return public(member, user)


@router.patch("/members/{member_id}")
async def update(
    member_id: MemberId,
    body: UpdateDetails,
    members: Members,
    org: Org,
    user: Cadre,
) -> MemberPublic:
    """Correct or complete a member's record (only the fields sent); role: cadre of the campus
    (admin for union roles that give more than the caller has)."""
    return public(await update_member(member_id, body, members, org, user), user)


@router.patch("/members/{member_id}/contact")
async def update_contact(
    member_id: MemberId, body: ContactDetails, members: Members, user: CurrentUser
) -> MemberPublic:
    """Change phone, e-mail or WeCom id; role: the member themself, or cadre of the campus
    (covering the member's grants for the e-mail or WeCom id). A new e-mail is pending until
    the member, signed in, opens the confirmation link mailed to it."""
    return public(await change_contact(member_id, body, members, user), user)


class EmailConfirmation(BaseModel):
    token: str = Field(
        min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$", description="确认链接中的令牌"
    )


@router.post("/members/{member_id}/email/confirm")
async def confirm_email_route(
    member_id: MemberId, body: EmailConfirmation, members: Members, user: CurrentUser
) -> MemberPublic:
    """Confirm a pending e-mail with the single-use token mailed to it; role: the member
    themself, signed in (holding the link alone is not enough)."""
    return public(await confirm_email(member_id, body.token, members, user), user)

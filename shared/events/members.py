"""Events published by the members service: `members.member`, `members.contact`,
`members.campus`, `members.account` and `members.childcare`.

Every event of `members.member` carries the member's facts as subscribers need them (events'
eligibility rules, welfare's entitlements, notify's audience): id, staff number, name, campus,
department, gender, birthday as month-day, birth year, small group, status, join date,
union roles and staff-congress representative terms (教代会代表任期: events registers a
session's representatives from them). Never an ID-card number, a salary or a phone number.
Contact details (phone, e-mail, WeCom id) travel only on the compacted topic
`members.contact`, which only notify reads; when a member leaves, a tombstone (a record with
the member id as key and no value) removes them from it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events import IntegrationEvent

Gender = Literal["female", "male"]


class CongressTermFacts(BaseModel):
    """A staff-congress representative term (教代会代表任期): a start and a length in years."""

    # Read from the members aggregate's own term objects by attribute (`MemberFacts.of`).
    model_config = ConfigDict(from_attributes=True)

    term: str = Field(description="届次, e.g. 第五届")
    start_year: int = Field(description="first year of the term")
    years: int = Field(
        description="length in years: the term covers start_year … start_year + years - 1"
    )


class MemberFacts(IntegrationEvent):
    """The facts about a member every `members.member` event carries (no type of its own)."""

    topic = "members.member"
    subject_field = "member_id"

    member_id: str = Field(description="member id (aggregate id)")
    staff_no: str = Field(description="school staff number (工号)")
    name: str = Field(description="member's name")
    campus: str = Field(description="campus code")
    department: str = Field(description="department (部门/系部)")
    gender: Gender | None = Field(None, description="female / male, if known")
    birthday: str | None = Field(
        None, pattern=r"^\d{2}-\d{2}$", description="birthday as MM-DD (生日福利), if known"
    )
    birth_year: int | None = Field(None, description="year of birth (age rules), if known")
    small_group: str | None = Field(None, description="small group (教工小家) code, if any")
    status: str = Field(description="applied / active / rejected / withdrawn / retired / …")
    joined_on: date | None = Field(None, description="date of joining (Asia/Shanghai)")
    roles: list[str] = Field(
        default_factory=list,
        description="union roles: chair, vice_chair, committee, group_leader, finance, auditor",
    )
    congress_terms: list[CongressTermFacts] = Field(
        default_factory=list,
        description="staff-congress representative terms (教代会代表任期), all of them; "
        "absent from events published before they were added (not known, rather than none)",
    )


class MemberApplied(MemberFacts):
    """A member of staff applied to join the union (申请入会); a cadre decides."""

    type = "members.member.applied.v1"
    summary = "申请入会"

    applied_on: date = Field(description="date of the application")


class MemberJoined(IntegrationEvent):
    """A person became a union member (入会).

    Deprecated: kept published, without `email`, next to `members.member.joined.v2` until
    every subscriber has moved; contact details moved to `members.contact`.
    """

    type = "members.member.joined.v1"
    topic = "members.member"
    summary = "会员入会（v1，已弃用）"
    subject_field = "member_id"

    member_id: str = Field(description="member id (aggregate id)")
    staff_no: str = Field(description="school staff number (工号)")
    name: str = Field(description="member's name")
    campus: str = Field(description="campus code")
    department: str = Field(description="department (部门/系部)")
    email: str | None = Field(None, description="always null since v2: see members.contact")
    joined_on: date = Field(description="date of joining, Asia/Shanghai")


class MemberJoinedV2(MemberFacts):
    """A person became a union member (入会): an application approved, or enrolled by a cadre."""

    type = "members.member.joined.v2"
    summary = "会员入会"


class MemberRejected(MemberFacts):
    """An application to join was rejected, with its reason (入会申请未通过)."""

    type = "members.member.rejected.v1"
    summary = "入会申请未通过"

    reason: str = Field(description="why, as the cadre wrote it")


class MemberUpdated(MemberFacts):
    """A member's details changed (信息变更): `changed` names the fields (never their values
    when they are personal)."""

    type = "members.member.updated.v1"
    summary = "会员信息变更"

    changed: list[str] = Field(description="names of the fields that changed")


class MemberTransferred(MemberFacts):
    """A member moved to another campus (转校区): `campus` is the new one."""

    type = "members.member.transferred.v1"
    summary = "会员转校区"

    from_campus: str = Field(description="the campus the member left")
    transferred_on: date = Field(description="date of the move")


class MemberWithdrawn(IntegrationEvent):
    """A member left the union (退会): subscribers drop their future registrations and
    unclaimed entitlements."""

    type = "members.member.withdrawn.v1"
    topic = "members.member"
    summary = "会员退会"
    subject_field = "member_id"

    member_id: str = Field(description="member id (aggregate id)")
    campus: str = Field(description="campus code")
    department: str = Field(description="department (部门/系部)")
    withdrawn_on: date = Field(description="date of leaving, Asia/Shanghai")
    staff_no: str | None = Field(None, description="school staff number (工号)")
    name: str | None = Field(None, description="member's name")
    status: str | None = Field(None, description="`withdrawn`")


class MemberRetired(MemberFacts):
    """A member retired (退休): welfare prepares the retirement gift; activities for retirees
    stay open to them."""

    type = "members.member.retired.v1"
    summary = "会员退休"

    retired_on: date = Field(description="date of retirement")


class MemberDeceased(MemberFacts):
    """A member passed away (去世): subscribers stop every message and registration; welfare
    prepares the bereavement condolence for the family."""

    type = "members.member.deceased.v1"
    summary = "会员去世"

    deceased_on: date = Field(description="date of death")


class ContactChanged(IntegrationEvent):
    """A member's contact details as they are now (latest per member wins: compacted topic)."""

    type = "members.contact.changed.v1"
    topic = "members.contact"
    summary = "联系方式（最新）"
    subject_field = "member_id"

    member_id: str = Field(description="member id (the record key)")
    name: str = Field(description="member's name, for the salutation")
    campus: str = Field(description="campus code")
    phone: str | None = Field(None, description="mobile number, if given")
    email: str | None = Field(None, description="e-mail, if given")
    wecom_userid: str | None = Field(None, description="WeCom (企业微信) user id, if any")


class EmailChangeRequested(IntegrationEvent):
    """Someone (the member, a cadre, an import) set a new e-mail address for a member; it is
    not used until the member, signed in, opens the link mailed to it. notify mails the link
    to the new address and tells the old one. The new address and the link travel sealed for
    notify (`sealed_for_notify`); the link's token is stored only as a hash."""

    type = "members.account.email_change_requested.v1"
    topic = "members.account"
    summary = "修改邮箱，待本人确认"
    subject_field = "member_id"

    member_id: str = Field(description="member id")
    name: str = Field(description="member's name, for the salutation")
    campus: str = Field(description="campus code")
    had_email: bool = Field(description="whether a confirmed address exists (it is told)")
    sealed_for_notify: str = Field(
        description="the new address and the confirmation link, sealed (AES-GCM) for notify"
    )
    expires_at: datetime = Field(description="when the confirmation link stops working (UTC)")


class ContactErased(IntegrationEvent):
    """The member left: their contact details must be forgotten. On Kafka this is a tombstone
    (key = member id, no value); compaction then removes the member from the topic."""

    type = "members.contact.erased.v1"
    topic = "members.contact"
    summary = "联系方式删除（墓碑记录）"
    subject_field = "member_id"
    tombstone: ClassVar[bool] = True

    member_id: str = Field(description="member id (the record key)")


class SmallGroupFacts(BaseModel):
    code: str = Field(description="small group code")
    name: str = Field(description="small group name (教工小家)")


class CampusChanged(IntegrationEvent):
    """A campus, its departments or its small groups changed (组织机构变更): the whole list."""

    type = "members.campus.changed.v1"
    topic = "members.campus"
    summary = "校区组织机构变更"
    subject_field = "campus"

    campus: str = Field(description="campus code")
    name: str = Field(description="campus name")
    departments: list[str] = Field(description="department names")
    small_groups: list[SmallGroupFacts] = Field(description="small groups (教工小家)")


class ChildcareRoundOpened(IntegrationEvent):
    """A cadre opened a childcare enrolment survey round (入园入托统计) for a campus: its
    active members are asked to confirm or update their children by the deadline. Carries
    no child's data, ever."""

    type = "members.childcare.round_opened.v1"
    topic = "members.childcare"
    summary = "入园入托统计开始"
    subject_field = "round_id"

    round_id: str = Field(description="round id (aggregate id)")
    campus: str = Field(description="campus code: its active members are asked")
    title: str = Field(description="title shown to members")
    survey_date: date = Field(description="date the children's ages are counted at")
    deadline: date | None = Field(None, description="last day to answer, if set")


class ChildcareRoundClosed(IntegrationEvent):
    """A childcare enrolment survey round was closed: no more answers; its statistics are
    final. Counts only, no child's data."""

    type = "members.childcare.round_closed.v1"
    topic = "members.childcare"
    summary = "入园入托统计结束"
    subject_field = "round_id"

    round_id: str = Field(description="round id (aggregate id)")
    campus: str = Field(description="campus code")
    survey_date: date = Field(description="date the children's ages are counted at")
    answered: int = Field(description="members who answered")
    expected: int = Field(description="active members of the campus when it closed")


# -- members.account: accounts and sign-in (账号与登录) -----------------------------------------
# Never a password, a hash or a token, with one deliberate exception: the login link's path,
# which notify must mail. It is single-use and worthless after 15 minutes.


class AccountEvent(IntegrationEvent):
    """What every `members.account` event carries (no type of its own)."""

    topic = "members.account"
    subject_field = "member_id"

    member_id: str = Field(description="member id (the account belongs to this member)")
    campus: str = Field(description="campus code of the member")


class PasswordSet(AccountEvent):
    """A cadre or an admin set a member's initial password, or reset it (设置/重置密码): the
    member must change it when signing in next; earlier sessions end."""

    type = "members.account.password_set.v1"
    summary = "设置或重置登录密码"

    reset: bool = Field(description="true when a password existed before (a reset)")


class PasswordChanged(AccountEvent):
    """The member chose their own password (修改密码); earlier sessions end."""

    type = "members.account.password_changed.v1"
    summary = "会员修改登录密码"


class SignedIn(AccountEvent):
    """The member signed in (登录) with a password or a login link.

    Deprecated: kept published for those two methods next to `members.account.signed_in.v2`
    (which also carries WeCom sign-ins) until every subscriber has moved; widening `method`
    here would break a subscriber that validates it.
    """

    type = "members.account.signed_in.v1"
    summary = "会员登录（v1，仅密码与登录链接）"

    method: Literal["password", "login_link"] = Field(description="how they proved who they are")
    failures_before: int = Field(description="wrong passwords since the last sign-in or unlock")


class SignedInV2(AccountEvent):
    """The member signed in (登录): with a password, a login link, or WeCom (企业微信)."""

    type = "members.account.signed_in.v2"
    summary = "会员登录"

    method: Literal["password", "login_link", "wecom"] = Field(
        description="how they proved who they are (wecom: 企业微信 OAuth, matched by user id)"
    )
    failures_before: int = Field(
        description="wrong passwords since the last sign-in or unlock (0 for wecom and links)"
    )


class AccountLocked(AccountEvent):
    """Five wrong passwords in a row: the account is locked for 15 minutes (账号锁定)."""

    type = "members.account.locked.v1"
    summary = "账号因连续输错密码被锁定"

    locked_until: datetime = Field(description="when the lock runs out by itself (UTC)")


class AccountUnlocked(AccountEvent):
    """The lock ran out, or a cadre or admin lifted it (账号解锁)."""

    type = "members.account.unlocked.v1"
    summary = "账号解锁"

    reason: Literal["expired", "cadre"] = Field(description="expired: the 15 minutes ran out")


class LoginLinkRequested(AccountEvent):
    """A member who forgot their password asked for a one-time login link (登录链接).

    Deprecated and no longer published: it carried the link, a credential, in clear on a
    topic other systems read. `members.account.login_link_requested.v2` replaces it.
    """

    type = "members.account.login_link_requested.v1"
    summary = "申请一次性登录链接（v1，已停用）"

    link_path: str = Field(
        description="path of the link on the web front end, with the single-use token"
    )
    expires_at: datetime = Field(description="when the link stops working (UTC)")


class LoginLinkRequestedV2(AccountEvent):
    """A member who forgot their password asked for a one-time login link (登录链接). notify
    opens `sealed_link` with its private key and mails the link (under the web front end's
    address) to the e-mail it knows for the member; the event carries no e-mail address, and
    nobody else can read the link: it is sealed for notify (X25519 + AES-GCM, see
    `shared/crypto.py`), bound to this event type and the member."""

    type = "members.account.login_link_requested.v2"
    summary = "申请一次性登录链接"

    sealed_link: str = Field(
        description="path of the link on the web front end, with the single-use token, "
        "sealed for notify (`ghbox1:…`): only notify opens it"
    )
    expires_at: datetime = Field(description="when the link stops working (UTC)")

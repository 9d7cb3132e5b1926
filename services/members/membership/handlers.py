"""Membership use cases: each takes a command (or an id), applies the rule, writes the change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from services.members.membership.confirmations import ask_if_pending, digest
from services.members.membership.domain import (
    ContactDetails,
    JoinMember,
    Member,
    UpdateDetails,
    clean_wecom_userid,
    join,
)
from services.members.membership.grants import (
    check_contact_change,
    check_not_own_salary_base,
    check_role_grant,
    raises_grants,
    require_covers_member,
)
from services.members.membership.store import NOT_FOUND, MemberRegistry
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.errors import NotFound
from shared.principal import Principal, Role
from shared.text import normalize
from shared.timeutil import local_today, utcnow

Check = Callable[[Member], None]  # the caller's permission on the member as it is now

# Lifecycle steps that start, end or move a member's sign-in, or remove them from office:
# the caller must cover what the member signs in with (a campus cadre does not withdraw the
# school union's chair, nor activate an applicant an admin named 经费管理). Rejecting and
# re-applying leave an applicant without a sign-in either way.
ENDS_OR_MOVES_ACCOUNT = frozenset({"approve", "withdraw", "retire", "decease", "transfer"})


def visible(caller: Principal, member: Member) -> None:
    """A member outside the caller's campuses is answered as not found (no probing)."""
    if caller.subject != member.id and not caller.can_access(member.campus):
        raise NotFound(*NOT_FOUND, id=member.id)


def may_act_on(caller: Principal, action: str, school_campus: str) -> Check:
    """The caller's permission for `action` on a member as the change is decided: visible
    to them, and, for a step that ends or moves the account, covered by their grants."""

    def check(member: Member) -> None:
        visible(caller, member)
        if action in ENDS_OR_MOVES_ACCOUNT:
            require_covers_member(caller, member, school_campus)

    return check


async def check_org(
    org: Organisation, campus: str, department: str | None, small_group: str | None
) -> None:
    """The campus, department and small group a member is given must exist."""
    found = await org.campus(normalize(campus))
    if department is not None:
        found.require_department(normalize(department))
    found.require_small_group(normalize(small_group) if small_group else None)


async def join_member(
    cmd: JoinMember,
    members: MemberRegistry,
    org: Organisation,
    caller: Principal,
    *,
    application: bool = False,
) -> Member:
    """入会 (a cadre enrols someone) or 申请入会 (as_applicant). The caller must cover the union
    roles given. An address a cadre enrols someone with is taken as theirs (the cadre covers
    what the member signs in with, so it gives nothing a password set by them would not); an
    address on a self-service `application` (anyone may file one in any staff number) waits
    for the member's confirmation."""
    campus = normalize(cmd.campus)
    caller.require_campus(campus)
    check_role_grant(caller, campus, [], cmd.roles, members.school_campus)
    await check_org(org, cmd.campus, cmd.department, cmd.small_group)
    member = join(cmd, local_today())
    if application:
        member.hold_email_for_confirmation()
        ask_confirmation(member, members, utcnow())
    return await members.enrol(member, Actor.of(caller))


async def act(
    members: MemberRegistry,
    member_id: str,
    action: str,
    decide: Callable[[Member], None],
    caller: Principal,
    check: Check | None = None,
) -> Member:
    """A change by `caller`. The permission (`may_act_on`, then `check`) runs on the state
    the change is decided on, so a concurrent transfer or role change is seen."""
    allowed = may_act_on(caller, action, members.school_campus)
    now = utcnow()

    def decide_checked(member: Member) -> None:
        allowed(member)
        if check is not None:
            check(member)
        before = member.model_copy(deep=True)
        decide(member)
        if raises_grants(before, member, members.school_campus):
            member.reconfirm_email()
            ask_confirmation(member, members, now)

    return await members.store.change(member_id, decide_checked, Actor.of(caller), action)


def lifecycle(action: str, on: date | None, reason: str | None = None) -> Callable[[Member], None]:
    """The decision for a dated lifecycle action of the TRANSITIONS table."""
    day = on or local_today()
    steps: dict[str, Callable[[Member], None]] = {
        "approve": lambda m: m.approve(day),
        "reject": lambda m: m.reject(reason or ""),
        "reapply": lambda m: m.reapply(day),
        "withdraw": lambda m: m.withdraw(day),
        "retire": lambda m: m.retire(day),
        "decease": lambda m: m.decease(day),
    }
    return steps[action]


async def transfer_member(
    member_id: str,
    to_campus: str,
    on: date | None,
    members: MemberRegistry,
    org: Organisation,
    caller: Principal,
) -> Member:
    """转校区: the caller must be on both campuses and cover the member (a chair moved off the
    school union's campus stops being admin)."""
    caller.require_campus(normalize(to_campus))
    await check_org(org, to_campus, None, None)
    day = on or local_today()
    return await act(members, member_id, "transfer", lambda m: m.transfer(to_campus, day), caller)


async def update_member(
    member_id: str,
    cmd: UpdateDetails,
    members: MemberRegistry,
    org: Organisation,
    caller: Principal,
) -> Member:
    """A cadre's correction. Union roles change what the member signs in as: the caller must
    cover them before and after (`check_role_grant`)."""
    school = members.school_campus

    def check(member: Member) -> None:
        if "roles" in cmd.model_fields_set:
            check_role_grant(caller, member.campus, member.roles, cmd.roles, school)
        if cmd.salary_base_fen != member.salary_base_fen:
            check_not_own_salary_base(caller, member, cmd.model_fields_set)

    current = await members.store.require(member_id)
    visible(caller, current)
    check(current)
    if cmd.department is not None or cmd.small_group is not None:
        await check_org(org, current.campus, cmd.department, cmd.small_group)
    return await act(members, member_id, "update", lambda m: m.update(cmd), caller, check)


async def change_contact(
    member_id: str, cmd: ContactDetails, members: MemberRegistry, caller: Principal
) -> Member:
    """The member changes their own details; a cadre of the campus may too, but a change to
    where sign-in links go (e-mail, WeCom id) needs the caller to cover the member. A new
    e-mail waits for the member's confirmation, whoever set it."""
    if caller.subject != member_id and not caller.has_role(Role.cadre):
        caller.require_self(member_id, "只能修改本人的联系方式")
    now = utcnow()

    def decide(member: Member) -> None:
        check_contact_change(caller, member, cmd, members.school_campus)
        member.change_contact(cmd)
        ask_confirmation(member, members, now)

    if "wecom_userid" not in cmd.model_fields_set or "wecom_userid" not in (
        await _contact_changes(members, member_id, cmd, caller)
    ):  # (the extra read only when a WeCom id is given)
        return await act(members, member_id, "change_contact", decide, caller)
    # The WeCom id is who signs in as the member (企业微信登录): reserved for them before the
    # change (one member's alone, whatever the concurrency), the former one released after.
    async with members.wecom_ids.holding(member_id, clean_wecom_userid(cmd.wecom_userid)):
        member = await act(members, member_id, "change_contact", decide, caller)
    await members.wecom_ids.settle(member)
    return member


async def _contact_changes(
    members: MemberRegistry, member_id: str, cmd: ContactDetails, caller: Principal
) -> set[str]:
    """What the change would change; asked of a caller allowed the change only (the others
    get their 403/404 as before, learning nothing, not even that an id is taken)."""
    member = await members.store.require(member_id)
    may_act_on(caller, "change_contact", members.school_campus)(member)
    check_contact_change(caller, member, cmd, members.school_campus)
    return member.contact_changes(cmd)


def ask_confirmation(member: Member, members: MemberRegistry, now: datetime) -> None:
    """Mail a confirmation link for an address that just became pending."""
    if members.mail_sealer is None:
        raise RuntimeError("the member registry has no sealer for notify's mail")
    ask_if_pending(member, members.mail_sealer, now)


async def confirm_email(
    member_id: str, token: str, members: MemberRegistry, caller: Principal
) -> Member:
    """The member, signed in as themself, opens the link mailed to the pending address.
    Holding the link is not enough: whoever set the address (a cadre, an application filed
    in someone else's staff number) may read that mailbox too."""
    caller.require_self(member_id, "只能由会员本人登录后确认邮箱")
    now = utcnow()
    return await act(
        members, member_id, "confirm_email", lambda m: m.confirm_email(digest(token), now), caller
    )

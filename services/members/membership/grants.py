"""What a member signs in as, from their union roles, and the rule that protects it.

Membership's own module (no web code, no accounts): the roles a token carries follow from
the member's union roles, so any change to a member that could let the caller sign in as
them or remove them from office (the e-mail or WeCom id their sign-in links go to, their
password, their roles, a lifecycle move that ends or moves their account) needs the caller
to hold at least what the member holds: `require_covers_member`. Accounts and imports use
the same check.

- every member is `member` on their campus; 小组长, 委员, 副主席 and 主席 are `cadre` there;
  经费管理 is `finance`, 经费审查委员 `auditor`; the chair (主席) of the school union — the
  union of the campus the settings name (`school_campus`) — is `admin` of every campus.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.members.membership.domain import ContactDetails, Member, UnionRole
from shared.errors import Forbidden
from shared.principal import ALL_CAMPUSES, Grants, Principal, Role

CADRE_ROLES = frozenset(
    {UnionRole.chair, UnionRole.vice_chair, UnionRole.committee, UnionRole.group_leader}
)
GRANTS_EXCEEDED = (
    "member.grants_exceeded",
    "该会员担任的工会职务高于您的权限，此操作只能由相应管理员执行",
)


def grants(member: Member, school_campus: str) -> Grants:
    """The roles a member signs in with, from their union roles (one campus per member)."""
    return grants_for(member.roles, member.campus, school_campus)


def grants_for(union_roles: Iterable[UnionRole], campus: str, school_campus: str) -> Grants:
    held = set(union_roles)
    roles = {Role.member.value}
    campuses = {campus}
    if held & CADRE_ROLES:
        roles.add(Role.cadre.value)
    if UnionRole.finance in held:
        roles.add(Role.finance.value)
    if UnionRole.auditor in held:
        roles.add(Role.auditor.value)
    if UnionRole.chair in held and campus == school_campus:
        roles.add(Role.admin.value)  # 校工会主席: every campus
        campuses.add(ALL_CAMPUSES)
    return Grants(tuple(sorted(roles)), tuple(sorted(campuses)))


def require_covers_member(
    caller: Principal,
    member: Member,
    school_campus: str,
    code: str = GRANTS_EXCEEDED[0],
    message: str = GRANTS_EXCEEDED[1],
) -> None:
    """403 unless the caller holds what `member` signs in with (the member themself may)."""
    if caller.subject == member.id:
        return
    caller.require_covers(grants(member, school_campus), code, message)


def check_role_grant(
    caller: Principal,
    campus: str,
    before: Iterable[UnionRole],
    after: Iterable[UnionRole],
    school_campus: str,
) -> None:
    """Giving or taking union roles changes what the member signs in as: the caller must hold
    what the roles give, before and after (a cadre names a 小组长, only an admin a 经费管理 or
    the school union's chair), or they could make themselves admin and sign in again."""
    before, after = set(before), set(after)
    if before == after:
        return
    caller.require_covers(
        [grants_for(roles, campus, school_campus) for roles in (before, after)],
        "member.role_grant_forbidden",
        "这些工会职务带来的权限高于您的权限，只能由相应管理员授予或撤销",
    )


# Contact details that reach the member's sign-in: a login link is mailed to the e-mail;
# the WeCom id is the member's identity in WeCom.
SIGN_IN_CONTACT = frozenset({"email", "wecom_userid"})


def check_contact_change(
    caller: Principal, member: Member, cmd: ContactDetails, school_campus: str
) -> None:
    """A change to where the member's sign-in links go (e-mail, WeCom id), by anyone but the
    member, needs the caller to cover the member (the import's rows included)."""
    if caller.subject != member.id and member.contact_changes(cmd) & SIGN_IN_CONTACT:
        require_covers_member(caller, member, school_campus)


def check_not_own_salary_base(caller: Principal, member: Member, fields: Iterable[str]) -> None:
    """Separation of duties: nobody changes their own salary base (their dues follow it)."""
    if caller.subject == member.id and "salary_base_fen" in set(fields):
        raise Forbidden(
            "member.own_salary_base",
            "不能修改本人的会费基数，请由其他工会干部或经费管理人员修改",
            field="salary_base_fen",
        )


def raises_grants(before: Member, after: Member, school_campus: str) -> bool:
    """Whether `after` signs in with something `before` did not have (a role, a campus)."""
    held = grants(before, school_campus)
    was = Principal(before.id, frozenset(held.roles), frozenset(held.campuses))
    return not was.covers(grants(after, school_campus))

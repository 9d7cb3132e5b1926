"""What a member's union roles give when they sign in (pure, no I/O).

Every member is `member` on their campus; 小组长, 委员, 副主席 and 主席 are `cadre` there;
经费管理 is `finance`, 经费审查委员 `auditor`; the chair (主席) of the school union — the union
of the campus the settings name (`school_campus`) — is `admin` of every campus. Here, not in
the accounts area, because membership's own routes check who may give a union role
(`check_role_grant`) and accounts build on membership, not the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.members.membership.domain import Member, UnionRole
from shared.principal import ALL_CAMPUSES, Grants, Principal, Role

CADRE_ROLES = frozenset(
    {UnionRole.chair, UnionRole.vice_chair, UnionRole.committee, UnionRole.group_leader}
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


__all__ = ["CADRE_ROLES", "check_role_grant", "grants", "grants_for"]

"""Who is calling and what they may do: roles, campus scope and grants, with no web code.

The one place that answers "may this caller do this here": `Principal.require` (a role,
optionally on a campus), `require_campus`, and `require_covers` (an action on a person that
could let the caller sign in as them or remove them from office needs the caller to hold at
least what that person holds). Domains and handlers call these; none writes its own 403.

    principal.require(Role.cadre, campus=activity.campus)
    principal.require_covers(grants(member, school_campus))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.errors import Forbidden

ALL_CAMPUSES = "*"


class Role(StrEnum):
    member = "member"  # 会员
    cadre = "cadre"  # 工会干部 / 小组长
    finance = "finance"  # 经费管理
    auditor = "auditor"  # 经费审查委员会: reads money, changes nothing
    admin = "admin"  # 校/校区工会管理员: every role on its campuses
    system = "system"  # another system (HR, portal) calling with a service token


@dataclass(frozen=True)
class Grants:
    """What a token says: roles and the campuses they are held on."""

    roles: tuple[str, ...]
    campuses: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    campuses: frozenset[str]

    @property
    def all_campuses(self) -> bool:
        return ALL_CAMPUSES in self.campuses

    def has_role(self, *roles: Role) -> bool:
        return Role.admin in self.roles or any(r in self.roles for r in roles)

    def can_access(self, campus: str) -> bool:
        return self.all_campuses or campus in self.campuses

    def campus_filter(self) -> dict[str, Any]:
        """The MongoDB filter every query adds, so a caller only sees its campuses.

        One campus (the usual case) is an equality, which FerretDB hands to its storage (and
        an index); `$in` it filters itself, after reading every document.
        """
        if self.all_campuses:
            return {}
        if len(self.campuses) == 1:
            [campus] = self.campuses
            return {"campus": campus}
        return {"campus": {"$in": sorted(self.campuses)}}

    # -- the one way to refuse ---------------------------------------------------------------

    def require(self, *roles: Role, campus: str | None = None) -> Principal:
        """Refuse (403) unless the caller holds one of `roles` (admin always does) and, when
        given, the campus. Returns the principal so a use case can write `p = p.require(…)`."""
        if roles and not self.has_role(*roles):
            names = "、".join(r.value for r in roles)
            raise Forbidden(
                "auth.forbidden", f"需要以下角色之一：{names}", roles=[r.value for r in roles]
            )
        if campus is not None:
            self.require_campus(campus)
        return self

    def require_campus(self, campus: str) -> None:
        if not self.can_access(campus):
            raise Forbidden(
                "auth.campus_forbidden", f"无权访问校区「{campus}」的数据", campus=campus
            )

    def require_self(self, subject: str, message: str = "只能操作本人的数据") -> None:
        """Refuse unless the caller is `subject` (a member acting on their own record)."""
        if self.subject != subject:
            raise Forbidden("auth.forbidden", message)

    def covers(self, granted: Grants) -> bool:
        """Whether the caller holds at least what `granted` gives: each role, on each campus."""
        return covers(self, granted)

    def require_covers(
        self,
        granted: Grants | Iterable[Grants],
        code: str = "auth.grants_exceeded",
        message: str = "对方的权限高于您的权限，此操作只能由相应管理员执行",
    ) -> None:
        """Refuse an action on a person that could let the caller sign in as them or remove
        them from office (contact, password, roles, a move that ends their account) unless
        the caller covers what that person holds (and, for a role change, will hold)."""
        for each in [granted] if isinstance(granted, Grants) else granted:
            if not covers(self, each):
                raise Forbidden(code, message)


def covers(caller: Principal, granted: Grants) -> bool:
    """Whether the caller holds at least what `granted` would give (no escalation by setting
    someone's password and signing in as them): each role, on each campus."""
    for campus in granted.campuses:
        if campus == ALL_CAMPUSES and not caller.all_campuses:
            return False
        if not caller.can_access(campus):
            return False
    return all(caller.has_role(Role(r)) for r in granted.roles if r != Role.member.value)

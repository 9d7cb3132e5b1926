"""Membership use cases: each takes a command (or an id), applies the rule, writes the change."""

from __future__ import annotations

from collections.abc import Callable

from services.members.membership.domain import JoinMember, Member, join
from services.members.membership.store import MemberRegistry
from shared.aggregate import Actor
from shared.timeutil import local_today


async def join_member(cmd: JoinMember, members: MemberRegistry, actor: Actor) -> Member:
    return await members.enrol(join(cmd, local_today()), actor)


async def withdraw_member(
    member_id: str, members: MemberRegistry, actor: Actor, check: Callable[[Member], None]
) -> Member:
    """退会. `check` is the caller's permission on the member as it is when the change is
    decided (a concurrent transfer may have moved them to another campus)."""

    def decide(member: Member) -> None:
        check(member)
        member.withdraw(local_today())

    return await members.store.change(member_id, decide, actor, "withdraw")

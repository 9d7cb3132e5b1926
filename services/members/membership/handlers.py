"""Membership use cases: each takes a command (or an id), applies the rule, writes the change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from services.members.membership.domain import (
    ContactDetails,
    JoinMember,
    Member,
    UpdateDetails,
    join,
)
from services.members.membership.store import MemberRegistry
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.text import normalize
from shared.timeutil import local_today

Check = Callable[[Member], None]  # the caller's permission on the member as it is now


async def check_org(
    org: Organisation, campus: str, department: str | None, small_group: str | None
) -> None:
    """The campus, department and small group a member is given must exist."""
    found = await org.campus(normalize(campus))
    if department is not None:
        found.require_department(normalize(department))
    found.require_small_group(normalize(small_group) if small_group else None)


async def join_member(
    cmd: JoinMember, members: MemberRegistry, org: Organisation, actor: Actor
) -> Member:
    """入会 (a cadre enrols someone) or 申请入会 (as_applicant)."""
    await check_org(org, cmd.campus, cmd.department, cmd.small_group)
    return await members.enrol(join(cmd, local_today()), actor)


async def act(
    members: MemberRegistry,
    member_id: str,
    action: str,
    decide: Callable[[Member], None],
    actor: Actor,
    check: Check,
) -> Member:
    """A lifecycle step. `check` runs on the state the change is decided on, so a concurrent
    transfer to another campus is seen."""

    def decide_checked(member: Member) -> None:
        check(member)
        decide(member)

    return await members.store.change(member_id, decide_checked, actor, action)


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
    actor: Actor,
    check: Check,
) -> Member:
    await check_org(org, to_campus, None, None)
    day = on or local_today()
    return await act(
        members, member_id, "transfer", lambda m: m.transfer(to_campus, day), actor, check
    )


async def update_member(
    member_id: str,
    cmd: UpdateDetails,
    members: MemberRegistry,
    org: Organisation,
    actor: Actor,
    check: Check,
) -> Member:
    current = await members.store.require(member_id)
    check(current)
    if cmd.department is not None or cmd.small_group is not None:
        await check_org(org, current.campus, cmd.department, cmd.small_group)
    return await act(members, member_id, "update", lambda m: m.update(cmd), actor, check)


async def change_contact(
    member_id: str, cmd: ContactDetails, members: MemberRegistry, actor: Actor, check: Check
) -> Member:
    return await act(
        members, member_id, "change_contact", lambda m: m.change_contact(cmd), actor, check
    )

"""Members' use cases, and the (so far empty) table of events it reacts to."""

from __future__ import annotations

from services.members.domain import JoinMember, Member, join
from services.members.store import MemberStore
from shared.consumer import Routes
from shared.timeutil import local_today


async def join_member(
    cmd: JoinMember, store: MemberStore, traceparent: str | None = None
) -> Member:
    member = join(cmd, local_today())
    await store.add(member, traceparent)
    return member


# members reacts to no other service's events yet.
ROUTES: Routes = {}

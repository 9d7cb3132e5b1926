"""Suggestion box use cases: write (named or anonymous), forward, reply, read one's own.

An anonymous suggestion is written by the actor `anonymous` under a fresh trace id: its
change record, its event and the service's logs name no one. Who may read a suggestion:
the cadres of its campus (never its writer's name when anonymous), and its writer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from services.events.suggestions.domain import (
    Forward,
    NewSuggestion,
    ReplyIn,
    Suggestion,
    submit,
)
from services.events.surveys.handlers import untraced
from shared.aggregate import Actor, AggregateStore
from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import utcnow_ms as utcnow

ANONYMOUS = Actor("anonymous", None)


@dataclass(frozen=True)
class Box:
    """What the suggestion box's use cases need (the context's `suggestions`)."""

    store: AggregateStore[Suggestion]
    directory: MemberDirectory
    secret: bytes


def is_cadre_of(user: Principal, found: Suggestion) -> bool:
    return user.has_role(Role.cadre) and user.can_access(found.campus)


async def write(box: Box, cmd: NewSuggestion, user: Principal) -> Suggestion:
    user.require(Role.member)
    member = await box.directory.get(user.subject)
    if member is None or member.get("status") not in ("active", "retired"):
        raise Forbidden("suggestion.not_a_member", "只有工会会员可以提意见建议")
    found = submit(
        f"sg-{uuid.uuid4().hex[:12]}", member["campus"], cmd, user.subject, box.secret, utcnow()
    )
    if cmd.anonymous:
        with untraced():
            return await box.store.add(found, ANONYMOUS, "submit")
    return await box.store.add(found, Actor.of(user), "submit")


async def readable(box: Box, suggestion_id: str, user: Principal) -> Suggestion:
    """The suggestion for a cadre of its campus or its writer; 404 for everyone else."""
    found = await box.store.get(suggestion_id)
    if found is None or not (
        is_cadre_of(user, found) or found.written_by(box.secret, user.subject)
    ):
        raise NotFound("suggestion.not_found", "未找到该意见建议", id=suggestion_id)
    return found


async def forward(box: Box, found: Suggestion, cmd: Forward, user: Principal) -> Suggestion:
    user.require(Role.cadre, campus=found.campus)
    return await box.store.change(found.id, lambda s: s.forward(cmd), Actor.of(user), "forward")


async def reply(box: Box, found: Suggestion, cmd: ReplyIn, user: Principal) -> Suggestion:
    user.require(Role.cadre, campus=found.campus)
    now = utcnow()
    return await box.store.change(found.id, lambda s: s.reply(cmd, now), Actor.of(user), "reply")


async def of_campus(
    box: Box, user: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[Suggestion], int]:
    user.require(Role.cadre)
    query: dict[str, Any] = dict(user.campus_filter())
    if status:
        query["status"] = status
    found = await box.store.find(
        query, sort=[("submitted_at", -1), ("_id", 1)], skip=offset, limit=limit
    )
    return found, await box.store.count(query)


async def mine(box: Box, user: Principal) -> list[Suggestion]:
    """The caller's suggestions: named ones by id, anonymous ones by recomputing each one's
    token (the only way to find them: nothing stores who wrote them)."""
    named = await box.store.find({"member_id": user.subject}, limit=200)
    scope = {"anonymous": True, **user.campus_filter()}
    anonymous = await box.store.find(scope, sort=[("submitted_at", -1)], limit=2000)
    own = [s for s in anonymous if s.written_by(box.secret, user.subject)]
    # Found in the list view; read by id, so a reply just given is there.
    current = await box.store.get_many([s.id for s in [*named, *own]])
    return sorted(current.values(), key=lambda s: s.submitted_at, reverse=True)

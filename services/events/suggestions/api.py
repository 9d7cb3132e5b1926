"""Suggestion box routes (意见建议): write, forward, reply, read the replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.events.deps import Cadre
from services.events.suggestions.domain import (
    SUGGESTION_ID,
    Forward,
    NewSuggestion,
    ReplyIn,
    Suggestion,
    SuggestionStatus,
)
from services.events.suggestions.handlers import (
    Box,
    forward,
    is_cadre_of,
    mine,
    of_campus,
    readable,
    reply,
    write,
)
from shared.auth import CurrentUser, Principal
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local

BoxDep = Annotated[Box, Depends(provided("suggestions"))]
SuggestionId = Annotated[str, Path(pattern=SUGGESTION_ID, description="编号，如 sg-3f2a9c0d1e2b")]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["意见建议 suggestions"])


class ReplyPublic(BaseModel):
    text: str
    at: datetime


class SuggestionPublic(BaseModel):
    id: str
    campus: str
    title: str
    body: str
    anonymous: bool
    member_id: str | None = Field(description="写信人（实名时）；匿名时始终为空")
    status: SuggestionStatus
    status_label: str
    department: str | None = Field(description="转交的部门")
    forward_note: str = Field(description="转交说明（仅工会干部可见）")
    replies: list[ReplyPublic]
    submitted_at: datetime
    mine: bool = Field(description="是我写的（仅写信人本人看到 true）")


def suggestion_public(found: Suggestion, user: Principal, own: bool) -> SuggestionPublic:
    cadre = is_cadre_of(user, found)
    return SuggestionPublic(
        id=found.id,
        campus=found.campus,
        title=found.title,
        body=found.body,
        anonymous=found.anonymous,
        member_id=None if found.anonymous else found.member_id,
        status=found.status,
        status_label=found.status.label,
        department=found.department,
        forward_note=found.forward_note if cadre else "",
        replies=[ReplyPublic(text=r.text, at=as_local(r.at)) for r in found.replies],
        submitted_at=as_local(found.submitted_at),
        mine=own,
    )


class SuggestionPage(BaseModel):
    items: list[SuggestionPublic]
    total: int
    limit: int
    offset: int


@router.post("/suggestions", status_code=status.HTTP_201_CREATED)
async def write_suggestion(body: NewSuggestion, box: BoxDep, user: CurrentUser) -> SuggestionPublic:
    """Put a suggestion in the box, under one's name or anonymously (no one, cadres
    included, can tell who wrote it); role: member."""
    return suggestion_public(await write(box, body, user), user, own=True)


@router.get("/suggestions")
async def list_suggestions(
    box: BoxDep,
    user: Cadre,
    status_: Annotated[SuggestionStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> SuggestionPage:
    """The suggestions of the caller's campuses, newest first; role: cadre."""
    found, total = await of_campus(box, user, status_.value if status_ else None, limit, offset)
    items = [suggestion_public(s, user, own=False) for s in found]
    return SuggestionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/suggestions/{suggestion_id}")
async def get_suggestion(
    suggestion_id: SuggestionId, box: BoxDep, user: CurrentUser
) -> SuggestionPublic:
    """One suggestion with its replies; role: cadre of its campus, or its writer."""
    found = await readable(box, suggestion_id, user)
    return suggestion_public(found, user, own=found.written_by(box.secret, user.subject))


@router.post("/suggestions/{suggestion_id}/forward")
async def forward_suggestion(
    suggestion_id: SuggestionId, body: Forward, box: BoxDep, user: Cadre
) -> SuggestionPublic:
    """Forward it to the department it concerns (转交); role: cadre of its campus."""
    found = await readable(box, suggestion_id, user)
    return suggestion_public(await forward(box, found, body, user), user, own=False)


@router.post("/suggestions/{suggestion_id}/reply")
async def reply_suggestion(
    suggestion_id: SuggestionId, body: ReplyIn, box: BoxDep, user: Cadre
) -> SuggestionPublic:
    """Reply (答复): the writer reads it under 我的意见建议; role: cadre of its campus."""
    found = await readable(box, suggestion_id, user)
    return suggestion_public(await reply(box, found, body, user), user, own=False)


@router.get("/me/suggestions")
async def my_suggestions(box: BoxDep, user: CurrentUser) -> list[SuggestionPublic]:
    """My suggestions, named and anonymous, with their replies; role: any signed-in user."""
    return [suggestion_public(s, user, own=True) for s in await mine(box, user)]

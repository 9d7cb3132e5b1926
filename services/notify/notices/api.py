"""Notice routes: a member's own inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.notify.notices.store import Inbox
from shared.auth import CurrentUser
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local

InboxDep = Annotated[Inbox, Depends(provided("inbox"))]

router = APIRouter(responses=PROBLEM_RESPONSES)


class InboxMessagePublic(BaseModel):
    id: str
    kind: str = Field(description="welcome / activity / welfare …")
    title: str
    body: str
    created_at: datetime = Field(description="北京时间 Asia/Shanghai")
    read: bool


@router.get("/inbox", tags=["站内信 inbox"])
async def my_inbox(
    inbox: InboxDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[InboxMessagePublic]:
    """The caller's own messages, newest first; role: any signed-in member."""
    return [public(d) for d in await inbox.for_member(user.subject, limit)]


def public(d: dict) -> InboxMessagePublic:
    return InboxMessagePublic(
        id=d["_id"],
        kind=d["kind"],
        title=d["title"],
        body=d["body"],
        created_at=as_local(d["created_at"]),
        read=d.get("read_at") is not None,
    )


NoticeId = Annotated[
    str, Path(max_length=200, pattern=r"^[^\x00-\x1f\x7f/]+$", description="通知编号")
]


@router.patch("/inbox/{notice_id}/read", tags=["站内信 inbox"])
async def mark_read(notice_id: NoticeId, inbox: InboxDep, user: CurrentUser) -> InboxMessagePublic:
    """Mark one of the caller's own messages read (again is the same); role: any signed-in
    member; another member's message is not found."""
    doc = await inbox.mark_read(user.subject, notice_id)
    if doc is None:
        raise NotFound("notice.not_found", "未找到该消息", id=notice_id)
    return public(doc)

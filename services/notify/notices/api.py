"""Notice routes: a member's own inbox (站内信)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.notify.delivery.store import Deliveries
from services.notify.notices.store import Inbox
from shared.auth import CurrentUser
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local

InboxDep = Annotated[Inbox, Depends(provided("inbox"))]
DeliveriesDep = Annotated[Deliveries, Depends(provided("deliveries"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["站内信 inbox"])


class InboxMessagePublic(BaseModel):
    id: str
    kind: str = Field(description="the template: welcome / registration_confirmed …")
    title: str
    body: str
    created_at: datetime = Field(description="北京时间 Asia/Shanghai")
    read: bool


class UnreadPublic(BaseModel):
    unread: int = Field(description="未读消息数")


class MarkedPublic(BaseModel):
    marked: int = Field(description="本次标为已读的消息数")


@router.get("/inbox")
async def my_inbox(
    inbox: InboxDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000, description="跳过的条数（翻页）")] = 0,
    unread_first: Annotated[bool, Query(description="未读在前")] = False,
) -> list[InboxMessagePublic]:
    """The caller's own messages, newest first (unread first when asked), a page at a time;
    role: any signed-in member."""
    docs = await inbox.for_member(user.subject, limit, offset, unread_first)
    return [public(d) for d in docs]


@router.get("/inbox/unread-count")
async def unread_count(inbox: InboxDep, user: CurrentUser) -> UnreadPublic:
    """How many of the caller's own messages are unread; role: any signed-in member."""
    return UnreadPublic(unread=await inbox.unread_count(user.subject))


@router.post("/inbox/read-all")
async def mark_all_read(
    inbox: InboxDep, deliveries: DeliveriesDep, user: CurrentUser
) -> MarkedPublic:
    """Mark every one of the caller's own messages read; role: any signed-in member."""
    ids = await inbox.mark_all_read(user.subject)
    await deliveries.mark_read(ids)
    return MarkedPublic(marked=len(ids))


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


@router.patch("/inbox/{notice_id}/read")
async def mark_read(
    notice_id: NoticeId, inbox: InboxDep, deliveries: DeliveriesDep, user: CurrentUser
) -> InboxMessagePublic:
    """Mark one of the caller's own messages read (again is the same); role: any signed-in
    member; another member's message is not found."""
    doc = await inbox.mark_read(user.subject, notice_id)
    if doc is None:
        raise NotFound("notice.not_found", "未找到该消息", id=notice_id)
    await deliveries.mark_read([notice_id])
    return public(doc)

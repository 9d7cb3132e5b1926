"""Notice routes: a member's own inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.notify.deps import InboxDep
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.timeutil import as_local

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
    return [
        InboxMessagePublic(
            id=d["_id"],
            kind=d["kind"],
            title=d["title"],
            body=d["body"],
            created_at=as_local(d["created_at"]),
            read=d.get("read_at") is not None,
        )
        for d in await inbox.for_member(user.subject, limit)
    ]

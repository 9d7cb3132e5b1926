"""The audit trail for admins and auditors (审计日志): read-only, filtered, scoped, paged."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.members.audit.store import AuditQuery, AuditRecord, AuditTrail, Source
from services.members.deps import Auditor
from services.members.membership.api import masked_changes
from shared.auth import Principal
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.text import PLAIN_TEXT
from shared.timeutil import SHANGHAI, Day, as_local

Trail = Annotated[AuditTrail, Depends(provided("trail"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["审计 audit"])

MAX_OFFSET = 10_000


class AuditRecordPublic(BaseModel):
    source: Source = Field(description="audit：审计日志；members / campuses：会员与校区的变更记录")
    at: datetime = Field(description="北京时间 Asia/Shanghai")
    by: str = Field(description="操作人（令牌主体；system 为平台自身，anonymous 为未登录者）")
    request: str | None = Field(description="请求的 trace id，可在日志中查到同一请求")
    action: str = Field(description="reveal / lock / unlock / set_password / join / update …")
    target: str = Field(description="对象：会员 id 或校区代码")
    campus: str
    detail: dict[str, Any]
    changed: dict[str, dict[str, Any]] = Field(
        description="字段 → {from, to}；敏感字段显示 ***，联系方式除管理员外脱敏"
    )
    events: list[str] = Field(description="这次变更发布的事件类型")

    @classmethod
    def of(cls, record: AuditRecord, viewer: Principal) -> AuditRecordPublic:
        return cls(
            source=record.source,
            at=as_local(record.at),
            by=record.by,
            request=record.request,
            action=record.action,
            target=record.target,
            campus=record.campus,
            detail=record.detail,
            changed=masked_changes(record.changed, viewer),
            events=record.events,
        )


class AuditPage(BaseModel):
    items: list[AuditRecordPublic]
    total: int
    limit: int
    offset: int


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI)


Text = Annotated[str | None, Query(max_length=64, pattern=PLAIN_TEXT)]


@router.get("/audit")
async def read_audit(
    trail: Trail,
    user: Auditor,
    actor: Annotated[
        str | None, Query(max_length=64, pattern=PLAIN_TEXT, description="操作人")
    ] = None,
    action: Text = None,
    member: Annotated[
        str | None, Query(max_length=64, pattern=PLAIN_TEXT, description="对象（会员 id）")
    ] = None,
    campus: Annotated[str | None, Query(max_length=32, pattern=PLAIN_TEXT)] = None,
    since: Annotated[Day | None, Query(description="从这天起（北京时间，含）")] = None,
    until: Annotated[Day | None, Query(description="到这天止（北京时间，含）")] = None,
    source: Source | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AuditPage:
    """Who did what to whom, when, from which request: the audit log merged with the change
    logs of members and campuses, newest first, on the caller's campuses; never editable;
    role: auditor or admin."""
    if campus is not None:
        user.require_campus(campus)
    # Days outside any record's lifetime bound nothing (and stay clear of datetime's limits).
    since = since if since and since.year >= 1900 else None
    until = until if until and until.year <= 2999 else None
    query = AuditQuery(
        actor=actor,
        action=action,
        target=member,
        campus=campus,
        since=_start_of(since) if since else None,
        until=_start_of(until + timedelta(days=1)) if until else None,
        source=source,
    )
    scope = None if user.all_campuses else sorted(user.campuses)
    records, total = await trail.page(query, scope, limit, offset)
    return AuditPage(
        items=[AuditRecordPublic.of(r, user) for r in records],
        total=total,
        limit=limit,
        offset=offset,
    )

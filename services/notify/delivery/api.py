"""Delivery routes (投递状态): the status of every message, failed ones listed and retried."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.notify.delivery.domain import DeliveryStatus
from services.notify.delivery.store import Deliveries
from services.notify.routing.domain import ChannelName
from services.notify.templates.defaults import DEFAULTS
from shared.auth import CurrentUser
from shared.errors import Conflict, NotFound
from shared.principal import Role
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local, utcnow

DeliveriesDep = Annotated[Deliveries, Depends(provided("deliveries"))]

router = APIRouter(prefix="/deliveries", responses=PROBLEM_RESPONSES, tags=["投递 deliveries"])

DeliveryId = Annotated[
    str, Path(max_length=300, pattern=r"^[^\x00-\x1f\x7f/]+$", description="投递编号")
]


class DeliveryPublic(BaseModel):
    id: str
    event_type: str
    template: str
    template_label: str = Field(description="通知类型（中文）")
    member_id: str
    campus: str
    channel: ChannelName
    channel_label: str
    status: DeliveryStatus
    status_label: str
    failures: int = Field(description="失败次数")
    last_error: str | None = Field(description="最近一次失败的原因")
    created_at: datetime = Field(description="北京时间")
    sent_at: datetime | None = None
    next_at: datetime | None = Field(None, description="下次尝试（北京时间）")


class CountPublic(BaseModel):
    channel: ChannelName
    status: DeliveryStatus
    count: int


def public(d: dict[str, Any]) -> DeliveryPublic:
    default = DEFAULTS.get(d["template"])
    return DeliveryPublic(
        id=d["_id"],
        event_type=d["event_type"],
        template=d["template"],
        template_label=default.label if default else d["template"],
        member_id=d["member_id"],
        campus=d["campus"],
        channel=ChannelName(d["channel"]),
        channel_label=ChannelName.label_of(d["channel"]),
        status=DeliveryStatus(d["status"]),
        status_label=DeliveryStatus.label_of(d["status"]),
        failures=d.get("failures", 0),
        last_error=d.get("last_error"),
        created_at=as_local(d["created_at"]),
        sent_at=as_local(d["sent_at"]) if d.get("sent_at") else None,
        next_at=as_local(d["next_at"]) if d.get("next_at") else None,
    )


@router.get("")
async def list_deliveries(
    deliveries: DeliveriesDep,
    user: CurrentUser,
    status: DeliveryStatus | None = None,
    channel: ChannelName | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[DeliveryPublic]:
    """Deliveries on the caller's campuses, newest first (`status=failed`: the failed list);
    role: cadre."""
    user.require(Role.cadre)
    query: dict[str, Any] = {**user.campus_filter()}
    if status:
        query["status"] = status.value
    if channel:
        query["channel"] = channel.value
    return [public(d) for d in await deliveries.listing(query, limit, offset)]


@router.get("/summary")
async def delivery_summary(deliveries: DeliveriesDep, user: CurrentUser) -> list[CountPublic]:
    """How many deliveries are in each status, per channel, on the caller's campuses;
    role: cadre."""
    user.require(Role.cadre)
    counts = await deliveries.counts(user.campus_filter())
    return [
        CountPublic(channel=ChannelName(c), status=DeliveryStatus(s), count=n)
        for (c, s), n in sorted(counts.items())
    ]


@router.post("/{delivery_id}/retry")
async def retry_delivery(
    delivery_id: DeliveryId, deliveries: DeliveriesDep, user: CurrentUser
) -> DeliveryPublic:
    """Queue a failed delivery again (its attempts start over); role: cadre of its campus."""
    user.require(Role.cadre)
    doc = await deliveries.get(delivery_id)
    if doc is None or not user.can_access(doc["campus"]):
        raise NotFound("delivery.not_found", "未找到该投递记录", id=delivery_id)
    if doc["status"] != DeliveryStatus.failed.value:
        raise Conflict(
            "delivery.not_failed",
            f"只有发送失败的消息可以重发（当前：{DeliveryStatus.label_of(doc['status'])}）",
            current=doc["status"],
        )
    await deliveries.record(doc, DeliveryStatus.queued, failures=0, next_at=utcnow())
    return public({**doc, "status": "queued", "failures": 0, "next_at": utcnow()})

"""Webhook routes (Webhook 订阅): every one the admin's.

The secret is in exactly two answers: the one that creates the subscription and the one that
rotates its secret. Nothing else shows it (not the list, the detail, the log or the events).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.notify.webhooks.domain import (
    AttemptOutcome,
    DeliveryStatus,
    PauseReason,
    Subscription,
    WebhookStatus,
    offered_filters,
)
from services.notify.webhooks.handlers import Register, Webhooks
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local

WebhooksDep = Annotated[Webhooks, Depends(provided("webhooks"))]

router = APIRouter(prefix="/webhooks", responses=PROBLEM_RESPONSES, tags=["Webhook 订阅 webhooks"])

SubscriptionId = Annotated[str, Path(pattern=r"^wh-[0-9a-f]{12}$", description="订阅编号 wh-…")]
DeliveryId = Annotated[
    str,
    Path(max_length=300, pattern=r"^wh-[0-9a-f]{12}:[^\x00-\x1f\x7f/]+$", description="投递编号"),
]
Limit = Annotated[int, Query(ge=1, le=500)]


# The catalog, stated in the schema (the handler checks the same, with a Chinese message).
FilterEntry = Annotated[
    str,
    Field(
        min_length=1,
        max_length=120,
        json_schema_extra={"enum": [*offered_filters()]},
        description="事件类型，或以“.”结尾的前缀",
    ),
]


class WebhookCreate(BaseModel):
    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^[^\x00-\x20\x7f]+$",
        description="接收地址：https://…（本地测试设置开启时也可 http:// 与内网地址）",
    )
    types: list[FilterEntry] = Field(
        min_length=1,
        max_length=50,
        description="事件类型（完整类型，或以“.”结尾的前缀如 `events.activity.`），见 GET /webhooks/event-types",
    )
    campus: str = Field(
        "*",
        pattern=r"^(\*|[a-z][a-z0-9-]{0,31})$",
        description="接收哪个校区的事件；`*` 为全部校区（须全校管理员）",
    )
    description: str = Field("", max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$", description="说明")


class WebhookPublic(BaseModel):
    id: str
    url: str
    types: list[str]
    campus: str
    description: str
    status: WebhookStatus = Field(description="active 启用中 / paused 已暂停")
    status_label: str
    reason: str | None = Field(description="暂停原因：manual / failing")
    reason_label: str | None
    created_by: str
    created_at: datetime = Field(description="北京时间 Asia/Shanghai")


class WebhookWithSecret(WebhookPublic):
    secret: str = Field(description="签名密钥 whsec_…：只在创建和更换时显示这一次，请立即保存")


class DeliveryPublic(BaseModel):
    id: str
    event_id: str
    event_type: str
    status: DeliveryStatus
    status_label: str
    attempts: int
    next_at: datetime | None = Field(description="下次尝试（北京时间），等待重试时")
    last_code: int | None = Field(description="最近一次的 HTTP 状态码")
    last_at: datetime | None
    created_at: datetime


class AttemptPublic(BaseModel):
    delivery_id: str
    event_id: str
    event_type: str
    attempt: int = Field(description="第几次尝试")
    outcome: AttemptOutcome
    outcome_label: str
    code: int | None = Field(None, description="HTTP 状态码；连接失败时为空")
    error: str | None = None
    started_at: datetime
    duration_ms: int | None = None
    retry_at: datetime | None = Field(None, description="失败后安排的下次尝试")


def public(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "types": sub.types,
        "campus": sub.campus,
        "description": sub.description,
        "status": sub.status,
        "status_label": WebhookStatus(sub.status).label,
        "reason": sub.reason,
        "reason_label": PauseReason.label_of(sub.reason) if sub.reason else None,
        "created_by": sub.created_by,
        "created_at": as_local(sub.created_at),
    }


def _local(moment: datetime | None) -> datetime | None:
    return as_local(moment) if moment else None


def delivery_public(d: dict[str, Any]) -> DeliveryPublic:
    waiting = d["status"] in (DeliveryStatus.pending, DeliveryStatus.retrying)
    return DeliveryPublic(
        id=d["_id"],
        event_id=d["event_id"],
        event_type=d["event_type"],
        status=d["status"],
        status_label=DeliveryStatus.label_of(d["status"]),
        attempts=d["attempts"],
        next_at=_local(d.get("next_at")) if waiting else None,
        last_code=d.get("last_code"),
        last_at=_local(d.get("last_at")),
        created_at=as_local(d["created_at"]),
    )


def attempt_public(d: dict[str, Any]) -> AttemptPublic:
    return AttemptPublic(
        delivery_id=d["delivery"],
        event_id=d["event_id"],
        event_type=d["event_type"],
        attempt=d["attempt"],
        outcome=d["outcome"],
        outcome_label=AttemptOutcome.label_of(d["outcome"]),
        code=d.get("code"),
        error=d.get("error"),
        started_at=as_local(d["started_at"]),
        duration_ms=d.get("duration_ms"),
        retry_at=_local(d.get("retry_at")),
    )


@router.get("/event-types")
async def event_types(webhooks: WebhooksDep, user: CurrentUser) -> list[str]:
    """What a subscription's filter may hold: the prefixes (`events.activity.`), then every
    catalogued event type (contact details and credentials never); role: admin."""
    return webhooks.event_types(user)


@router.post("", status_code=status.HTTP_201_CREATED)
async def register(
    body: WebhookCreate, webhooks: WebhooksDep, user: CurrentUser
) -> WebhookWithSecret:
    """Register a subscription; the answer shows its secret, once; role: admin of the campus
    (`*`: school admin). A URL to a private, loopback, link-local or multicast address is 422."""
    cmd = Register(url=body.url, types=body.types, campus=body.campus, description=body.description)
    sub = await webhooks.register(user, cmd)
    return WebhookWithSecret(**public(sub), secret=sub.secret)


@router.get("")
async def listed(
    webhooks: WebhooksDep, user: CurrentUser, limit: Limit = 100
) -> list[WebhookPublic]:
    """Subscriptions of my campuses, newest first (no secrets); role: admin."""
    return [WebhookPublic(**public(s)) for s in await webhooks.listed(user, limit)]


@router.get("/{subscription_id}")
async def detail(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser
) -> WebhookPublic:
    """One subscription (no secret); role: admin of its campus."""
    return WebhookPublic(**public(await webhooks.get(user, subscription_id)))


@router.post("/{subscription_id}/pause")
async def pause(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser
) -> WebhookPublic:
    """Pause (again is the same): events are kept and delivered after resuming; role: admin."""
    return WebhookPublic(**public(await webhooks.pause(user, subscription_id)))


@router.post("/{subscription_id}/resume")
async def resume(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser
) -> WebhookPublic:
    """Resume a paused subscription; what waited is delivered; role: admin of its campus."""
    return WebhookPublic(**public(await webhooks.resume(user, subscription_id)))


@router.post("/{subscription_id}/secret")
async def rotate_secret(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser
) -> WebhookWithSecret:
    """A new secret, shown once in this answer; the old one stops at once; role: admin."""
    sub = await webhooks.rotate_secret(user, subscription_id)
    return WebhookWithSecret(**public(sub), secret=sub.secret)


@router.get("/{subscription_id}/deliveries")
async def deliveries(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser, limit: Limit = 100
) -> list[DeliveryPublic]:
    """The subscription's deliveries, newest first; role: admin of its campus."""
    found = await webhooks.deliveries_of(user, subscription_id, limit)
    return [delivery_public(d) for d in found]


@router.get("/{subscription_id}/log")
async def log(
    subscription_id: SubscriptionId, webhooks: WebhooksDep, user: CurrentUser, limit: Limit = 100
) -> list[AttemptPublic]:
    """The delivery log: every try (outcome, HTTP code, attempt, time, duration), newest first;
    role: admin of its campus."""
    return [attempt_public(d) for d in await webhooks.log_of(user, subscription_id, limit)]


@router.post("/{subscription_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    subscription_id: SubscriptionId,
    delivery_id: DeliveryId,
    webhooks: WebhooksDep,
    user: CurrentUser,
) -> DeliveryPublic:
    """Send a delivery again (same webhook-id: the receiver can tell); role: admin; a paused
    subscription is 409."""
    return delivery_public(await webhooks.redeliver(user, subscription_id, delivery_id))

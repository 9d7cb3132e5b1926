"""notify.webhook.*: the life of a webhook subscription (never its secret nor its URL).

Published by notify's `AggregateStore` for subscriptions (its list view is refreshed from this
topic). The URL stays out: it may name an internal host, and no other service needs it.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from shared.events import IntegrationEvent


class WebhookFacts(IntegrationEvent):
    """What every subscription event says about it."""

    topic = "notify.webhook"
    subject_field: ClassVar[str | None] = "subscription_id"

    subscription_id: str = Field(description="subscription id (wh-…)")
    campus: str = Field(description="campus whose events it receives; `*` for every campus")
    status: str = Field(description="active / paused")


class WebhookSubscribed(WebhookFacts):
    """An admin registered a subscription (Webhook 订阅已创建)."""

    type = "notify.webhook.subscribed.v1"
    summary = "Webhook 订阅已创建"

    types: list[str] = Field(description="event types or prefixes (`events.activity.`) it receives")


class WebhookPaused(WebhookFacts):
    """Paused by an admin, or by notify after its deliveries kept failing."""

    type = "notify.webhook.paused.v1"
    summary = "Webhook 订阅已暂停"

    reason: str = Field(description="manual / failing")


class WebhookResumed(WebhookFacts):
    """An admin resumed a paused subscription: what waited is delivered now."""

    type = "notify.webhook.resumed.v1"
    summary = "Webhook 订阅已恢复"


class WebhookSecretRotated(WebhookFacts):
    """An admin replaced the signing secret (the old one stops at once)."""

    type = "notify.webhook.secret_rotated.v1"
    summary = "Webhook 订阅的签名密钥已更换"

"""Webhook use cases: register, pause, resume, rotate, redeliver; take in events; one try.

Every route is the admin's (`principal.require(Role.admin, campus=…)`); a campus admin
manages the subscriptions of their campus, a school admin (`*`) those of every campus.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prometheus_client import Counter

from services.notify.notices.domain import Notice
from services.notify.notices.store import Inbox
from services.notify.webhooks.domain import (
    DeliveryStatus,
    PauseReason,
    Subscription,
    WebhookStatus,
    backoff_s,
    covers_campus,
    matches,
    offered_filters,
    parse_filter,
)
from services.notify.webhooks.sender import Sender, checked_address
from services.notify.webhooks.store import Deliveries
from shared.aggregate import Actor, AggregateStore
from shared.envelope import CloudEvent
from shared.errors import NotFound
from shared.principal import Principal, Role
from shared.telemetry import trace_id_var
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

# /metrics: every try by outcome (ok / failed), and subscriptions paused for failing.
WEBHOOK_TRIES = Counter("gonghui_webhook_tries_total", "webhook delivery tries", ["outcome"])
WEBHOOK_PAUSES = Counter(
    "gonghui_webhook_paused_total", "webhook subscriptions paused after failing tries"
)


@dataclass(frozen=True)
class WebhookRules:
    """From the settings: what may be registered, how hard to try."""

    allow_local: bool
    max_attempts: int
    backoff_first_s: float
    backoff_max_s: float
    pause_after: int
    lease_s: float


@dataclass(frozen=True)
class Register:
    """Command: an admin registers a subscription."""

    url: str
    types: list[str]
    campus: str
    description: str


class Webhooks:
    def __init__(
        self,
        store: AggregateStore[Subscription],
        deliveries: Deliveries,
        inbox: Inbox,
        sender: Sender,
        rules: WebhookRules,
        holder: str,
    ) -> None:
        self.store = store
        self.deliveries = deliveries
        self.inbox = inbox
        self.sender = sender
        self.rules = rules
        self.holder = holder

    # -- admin ------------------------------------------------------------------------------------

    async def register(self, principal: Principal, cmd: Register) -> Subscription:
        """The new subscription, its secret in clear (shown once, by the caller's answer)."""
        principal.require(Role.admin, campus=cmd.campus)
        types = parse_filter(cmd.types)
        await checked_address(cmd.url, self.rules.allow_local)  # the URL, then its addresses
        sub = Subscription.register(
            id=f"wh-{uuid.uuid4().hex[:12]}",
            campus=cmd.campus,
            url=cmd.url.strip(),
            types=types,
            description=cmd.description.strip(),
            by=principal.subject,
            now=utcnow(),
        )
        return await self.store.add(sub, Actor.of(principal))

    async def listed(self, principal: Principal, limit: int) -> list[Subscription]:
        principal.require(Role.admin)
        return await self.store.find(
            principal.campus_filter(), sort=[("created_at", -1)], limit=limit
        )

    async def get(self, principal: Principal, subscription_id: str) -> Subscription:
        principal.require(Role.admin)
        sub = await self.store.get(subscription_id)
        if sub is None or not (principal.all_campuses or principal.can_access(sub.campus)):
            raise NotFound("webhook.not_found", "未找到该 Webhook 订阅", id=subscription_id)
        return sub

    def event_types(self, principal: Principal) -> list[str]:
        """What a filter may hold: the prefixes (`events.`, `events.activity.`), then the types."""
        principal.require(Role.admin)
        return offered_filters()

    async def deliveries_of(
        self, principal: Principal, subscription_id: str, limit: int
    ) -> list[dict[str, Any]]:
        await self.get(principal, subscription_id)
        return await self.deliveries.of_subscription(subscription_id, limit)

    async def log_of(
        self, principal: Principal, subscription_id: str, limit: int
    ) -> list[dict[str, Any]]:
        """The delivery log: every try of the subscription, newest first."""
        await self.get(principal, subscription_id)
        return await self.deliveries.log(subscription_id, limit)

    async def pause(self, principal: Principal, subscription_id: str) -> Subscription:
        await self.get(principal, subscription_id)
        return await self.store.change(
            subscription_id, lambda s: s.pause(PauseReason.manual), Actor.of(principal), "pause"
        )

    async def resume(self, principal: Principal, subscription_id: str) -> Subscription:
        await self.get(principal, subscription_id)
        now = utcnow()
        return await self.store.change(
            subscription_id, lambda s: s.resume(now), Actor.of(principal), "resume"
        )

    async def rotate_secret(self, principal: Principal, subscription_id: str) -> Subscription:
        """The subscription with its new secret (in clear, for the one answer that shows it)."""
        await self.get(principal, subscription_id)
        return await self.store.change(
            subscription_id, lambda s: s.rotate_secret(), Actor.of(principal), "rotate_secret"
        )

    async def redeliver(
        self, principal: Principal, subscription_id: str, delivery_id: str
    ) -> dict[str, Any]:
        sub = await self.get(principal, subscription_id)
        sub.require_active()
        delivery = await self.deliveries.get(subscription_id, delivery_id)
        if delivery is None:
            raise NotFound("webhook.delivery_not_found", "未找到该投递记录", id=delivery_id)
        return await self.deliveries.redeliver(delivery)

    # -- events in --------------------------------------------------------------------------------

    async def take(self, envelope: CloudEvent) -> int:
        """Queue the event for every subscription whose filter and campus take it (paused ones
        too: they get it once resumed). Twice is once: the delivery's key is the event's id."""
        subs = await self.store.find({}, limit=1000)
        body: str | None = None
        queued = 0
        for sub in subs:
            if not (
                matches(sub.types, envelope.type) and covers_campus(sub.campus, envelope.campus)
            ):
                continue
            body = body or envelope.to_json_bytes().decode()
            queued += await self.deliveries.enqueue(sub.id, envelope.id, envelope.type, body)
        return queued

    # -- one try ----------------------------------------------------------------------------------

    async def run_due(self, limit: int) -> int:
        """Try every delivery that is due now (of active subscriptions, side by side);
        returns how many tries this worker made."""
        paused = [s.id for s in await self.store.find({"status": "paused"}, limit=1000)]
        due = await self.deliveries.due(utcnow(), limit, skip_subscriptions=paused)
        if not due:
            return 0
        subs = await self.store.get_many([d["subscription"] for d in due])
        tries = [
            self.attempt(sub, delivery)
            for delivery in due
            if (sub := subs.get(delivery["subscription"])) is not None
            and sub.status == WebhookStatus.active
        ]
        return sum(await asyncio.gather(*tries))

    async def attempt(self, sub: Subscription, delivery: Mapping[str, Any]) -> bool:
        n = await self.deliveries.claim(dict(delivery), self.holder, self.rules.lease_s)
        if n is None:
            return False
        outcome = await self.sender.post(
            sub.url, sub.secret, delivery["event_id"], delivery["body"].encode()
        )
        WEBHOOK_TRIES.labels("ok" if outcome.ok else "failed").inc()
        rules = self.rules
        retry_at = None
        if outcome.ok:
            status = DeliveryStatus.delivered
        elif n >= rules.max_attempts:
            status = DeliveryStatus.failed
        else:
            status = DeliveryStatus.retrying
            wait = backoff_s(n, rules.backoff_first_s, rules.backoff_max_s)
            retry_at = utcnow() + timedelta(seconds=wait)
        await self.deliveries.finish(
            dict(delivery),
            n,
            ok=outcome.ok,
            code=outcome.code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            status=status,
            retry_at=retry_at,
        )
        log.info(
            "webhook %s try %d of %s: %s",
            sub.id,
            n,
            delivery["event_id"],
            "ok" if outcome.ok else (outcome.error or outcome.code),
        )
        if not outcome.ok:
            await self.pause_if_failing(sub)
        return True

    async def pause_if_failing(self, sub: Subscription) -> None:
        """After `pause_after` failed tries in a row (since the last resume), pause it and tell
        the admin who registered it, once (the pause is one version of the subscription)."""
        n = self.rules.pause_after
        recent = await self.deliveries.recent_outcomes(sub.id, sub.resumed_at, n)
        if len(recent) < n or any(o != "failed" for o in recent):
            return
        paused: list[int] = []

        def decide(s: Subscription) -> None:
            paused.clear()
            if s.status == WebhookStatus.active:
                s.pause(PauseReason.failing)
                paused.append(s.version + 1)

        done = await self.store.change(sub.id, decide, Actor("system", trace_id_var.get()), "pause")
        if paused and done.status == WebhookStatus.paused:
            WEBHOOK_PAUSES.inc()
            await self.inbox.put(paused_notice(done, n))


def paused_notice(sub: Subscription, failures: int) -> Notice:
    return Notice(
        id=f"webhook-paused:{sub.id}:{sub.version}",
        member_id=sub.created_by,
        campus=sub.campus,
        kind="webhook_paused",
        title="Webhook 订阅因连续投递失败已暂停",
        body=(
            f"您创建的 Webhook 订阅（{sub.description or sub.id}）连续 {failures} 次投递失败，"
            "已自动暂停，新的事件会保留到恢复之后再投递。请检查接收方后在"
            "「管理后台 › Webhook 订阅」中恢复。"
        ),
    )

"""Webhooks' part of notify's composition root: one call from bootstrap.py."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.notices.store import Inbox
from services.notify.settings import NotifySettings
from services.notify.webhooks.domain import Subscription
from services.notify.webhooks.handlers import WebhookRules, Webhooks
from services.notify.webhooks.sender import Sender
from services.notify.webhooks.store import Deliveries
from services.notify.webhooks.store import setup_indexes as setup_webhook_indexes
from services.notify.webhooks.worker import DeliveryWorker, webhook_consumer
from shared.crypto import Sealer
from shared.runtime import ServiceRuntime

SUBSCRIPTIONS = "webhook_subscriptions"


def install_webhooks(runtime: ServiceRuntime, settings: NotifySettings, inbox: Inbox) -> Webhooks:
    """The subscriptions' store (its view kept by notify's consumer), the webhook consumer
    group and the delivery worker, started and stopped with the service."""
    store = runtime.aggregate(
        Subscription,
        name=SUBSCRIPTIONS,
        topic="notify.webhook",
        not_found=("webhook.not_found", "未找到该 Webhook 订阅"),
        sealer=Sealer.from_file(settings.webhook_key_file),
    )
    rules = WebhookRules(
        allow_local=settings.webhook_allow_local,
        max_attempts=settings.webhook_max_attempts,
        backoff_first_s=settings.webhook_backoff_s,
        backoff_max_s=settings.webhook_backoff_max_s,
        pause_after=settings.webhook_pause_after,
        lease_s=settings.webhook_timeout_s * 3 + 30,
    )
    webhooks = Webhooks(
        store,
        Deliveries(runtime.db),
        inbox,
        Sender(settings.webhook_timeout_s, settings.webhook_allow_local),
        rules,
        holder=runtime.scheduler.holder,
    )
    before = runtime.setup_indexes

    async def setup_indexes(db: AsyncDatabase) -> None:
        if before is not None:
            await before(db)
        await setup_webhook_indexes(db)

    runtime.setup_indexes = setup_indexes
    runtime.run_worker(webhook_consumer(settings, runtime.db, webhooks))
    runtime.run_worker(DeliveryWorker(webhooks, settings.webhook_poll_s, batch=20))
    return webhooks

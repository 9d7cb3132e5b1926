"""How webhooks run inside notify: their own consumer group, and the delivery worker.

- **In**: a second `EventConsumer` (group `<notify's group>.webhooks`) reads every topic a
  subscription may ask for, through the same route table, retries and dead-letter topics as
  notify's own consumer; its one handler only queues deliveries (a unique-key insert each), so a
  slow receiver never holds up a Kafka partition, and notices never wait behind webhooks.
- **Out**: `DeliveryWorker` polls the due deliveries and posts them (each try claimed, so
  two notify replicas never post the same try twice), outside any Kafka handler.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.webhooks.domain import offered_topics
from services.notify.webhooks.handlers import Webhooks
from shared.consumer import EventConsumer
from shared.envelope import CloudEvent
from shared.kafka import new_producer
from shared.polling import PollingWorker
from shared.routing import Routes, on_topic
from shared.settings import ServiceSettings


async def take_event(envelope: CloudEvent, webhooks: Webhooks) -> None:
    await webhooks.take(envelope)


def routes(webhooks: Webhooks) -> Routes:
    # Idempotent by itself (one delivery per subscription and event id): no marker needed.
    return [on_topic(t, take_event, webhooks, idempotent=True) for t in offered_topics()]


def webhook_consumer(
    settings: ServiceSettings, runtime_db: AsyncDatabase, webhooks: Webhooks
) -> EventConsumer:
    consumer = EventConsumer(
        service=f"{settings.service}-webhooks",
        db=runtime_db,
        bootstrap=settings.kafka_bootstrap,
        group_id=f"{settings.consumer_group}.webhooks",
        topic_name=settings.topic,
        producer_factory=lambda: new_producer(settings),
        max_attempts=settings.handler_max_attempts,
        backoff_ms=settings.handler_retry_backoff_ms,
        retry_later_max_s=settings.handler_wait_max_s,
    )
    consumer.subscribe(routes(webhooks))
    return consumer


class DeliveryWorker(PollingWorker):
    name = "webhook-deliveries"

    def __init__(self, webhooks: Webhooks, poll_s: float, batch: int) -> None:
        self.webhooks = webhooks
        self.batch = batch
        super().__init__(poll_s, full=1)  # while any try was due, more may be: no pause

    async def run_once(self) -> int:
        return await self.webhooks.run_due(self.batch)

    async def stop(self) -> None:
        await super().stop()
        await self.webhooks.sender.close()

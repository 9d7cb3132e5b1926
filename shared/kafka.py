"""aiokafka producer settings shared by the outbox relay and the dead-letter path."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.settings import ServiceSettings


def new_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    # acks=all + idempotence: a retried send neither loses nor duplicates a record.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"gonghui-{settings.service}",
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=15000,
        retry_backoff_ms=200,
    )

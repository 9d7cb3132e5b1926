"""The one declared list of Kafka topics. Start-up creates them; nothing auto-creates."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 3
    retention_days: int = 30
    description: str = ""

    @property
    def dlq(self) -> Topic:
        return Topic(f"{self.name}.dlq", 1, 90, f"dead letters of {self.name}")


# One topic per aggregate; the key is the aggregate id so its events stay in order.
TOPICS: tuple[Topic, ...] = (
    Topic("members.member", description="会员: joined, transferred, withdrawn, retired …"),
    Topic("events.activity", description="活动: published, cancelled, results"),
    Topic("events.registration", description="活动报名: registered, waitlisted, checked in"),
    Topic("welfare.entitlement", description="福利领取: created, chosen, confirmed, voided"),
    Topic("notify.message", description="通知: delivered, failed"),
)


def all_topics() -> list[Topic]:
    """Every topic with its dead-letter topic."""
    return [t for topic in TOPICS for t in (topic, topic.dlq)]


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions a topic has on the broker (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        if described["error_code"]:
            return []
        return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])
    finally:
        await admin.close()


async def ensure_topics(
    bootstrap: str, prefix: str = "", timeout_s: float = 60, replication: int = 1
) -> list[str]:
    """Create every declared topic (with prefix) that does not exist yet; returns those created."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                f"{prefix}{t.name}",
                num_partitions=t.partitions,
                replication_factor=replication,
                topic_configs={"retention.ms": str(t.retention_days * DAY_MS)},
            )
            for t in all_topics()
            if f"{prefix}{t.name}" not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass  # another process won the race; the topics are there either way
        return [t.name for t in wanted]
    finally:
        await admin.close()

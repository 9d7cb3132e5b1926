"""Topics on a real three-broker KRaft cluster (deploy/local KafkaCluster, the same jars as the
single broker): `gonghui topics` creates them with GONGHUI_KAFKA_REPLICATION_FACTOR replicas
and a majority `min.insync.replicas`, and an acknowledged event outlives the broker that led
its partition.

One cluster serves the whole module: starting three JVMs on a small machine takes a while.
The replicas and configs are read back with librdkafka (confluent-kafka), a client independent
of the aiokafka code under test.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

from deploy.local.infra import PrerequisiteError, prepare
from deploy.local.kafka import KafkaCluster
from shared.kafka import new_producer
from shared.settings import ServiceSettings
from shared.topics import all_topics
from tests.infra import unique_name

pytestmark = pytest.mark.cluster

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cluster() -> AsyncIterator[KafkaCluster]:
    try:
        paths = prepare(say=lambda message: print(message, file=sys.__stderr__))
    except PrerequisiteError as exc:
        pytest.skip(f"no Kafka jars for a cluster: {exc}")
    with tempfile.TemporaryDirectory(prefix="gonghui-cluster-") as root:
        started = time.monotonic()
        kafka = KafkaCluster(Path(root), paths.kafka_libs)
        try:
            await kafka.start()
            print(f"\n[cluster] three brokers ready in {time.monotonic() - started:.1f}s")
            yield kafka
        finally:
            await kafka.stop()


def gonghui_topics(bootstrap: str, prefix: str, replication: int) -> subprocess.CompletedProcess:
    """`gonghui topics` as an operator (or the compose `topics` job) runs it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GONGHUI_")} | {
        "GONGHUI_KAFKA_BOOTSTRAP": bootstrap,
        "GONGHUI_KAFKA_REPLICATION_FACTOR": str(replication),
    }
    return subprocess.run(
        [sys.executable, "-m", "shared.cli", "topics", "--prefix", prefix],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def described(bootstrap: str, names: list[str]) -> dict[str, dict]:
    """Per topic: replicas and in-sync replicas of each partition, and its configs (librdkafka).

    create_topics returns once the controller has the topics; each broker learns of them a
    moment later, so ask again until the broker asked knows them all.
    """
    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.monotonic() + 15
    while True:
        try:
            metadata = admin.list_topics(timeout=15)
            configs = admin.describe_configs([ConfigResource("topic", n) for n in names])
            return {
                resource.name: {
                    "replicas": sorted(
                        len(p.replicas) for p in metadata.topics[resource.name].partitions.values()
                    ),
                    "isrs": sorted(
                        len(p.isrs) for p in metadata.topics[resource.name].partitions.values()
                    ),
                    "config": {k: v.value for k, v in future.result(timeout=15).items()},
                }
                for resource, future in configs.items()
            }
        except (KeyError, KafkaException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


async def test_gonghui_topics_creates_every_topic_with_the_configured_replication(cluster):
    prefix = unique_name("rf") + "."
    done = await asyncio.to_thread(gonghui_topics, cluster.bootstrap, prefix, 3)
    assert done.returncode == 0, done.stderr
    assert "replication factor 3, min.insync.replicas 2" in done.stdout
    names = [f"{prefix}{t.name}" for t in all_topics()]
    topics = await asyncio.to_thread(described, cluster.bootstrap, names)
    assert sorted(topics) == sorted(names)
    for topic in all_topics():
        got = topics[f"{prefix}{topic.name}"]
        assert got["replicas"] == [3] * topic.partitions, topic.name
        assert got["isrs"] == [3] * topic.partitions, topic.name
        assert got["config"]["min.insync.replicas"] == "2", topic.name
        if topic.compacted:
            assert got["config"]["cleanup.policy"] == "compact", topic.name
        else:
            assert got["config"]["retention.ms"] == str(topic.retention_days * 24 * 3600 * 1000)


async def test_gonghui_topics_names_existing_topics_with_fewer_replicas(cluster):
    prefix = unique_name("rf") + "."
    old = f"{prefix}members.member"  # as the CLI made it before it read the variable
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(old, 3, 1)])
    finally:
        await admin.close()

    done = await asyncio.to_thread(gonghui_topics, cluster.bootstrap, prefix, 3)

    assert done.returncode == 0, done.stderr
    warned = [line for line in done.stderr.splitlines() if line.startswith("warning: topic")]
    assert len(warned) == 1 and "members.member has 1 replica(s)" in warned[0], done.stderr
    topics = await asyncio.to_thread(described, cluster.bootstrap, [old, f"{old}.dlq"])
    assert topics[old]["replicas"] == [1, 1, 1]  # left as it was
    assert topics[f"{old}.dlq"]["replicas"] == [3]


async def test_an_acknowledged_event_outlives_the_broker_that_led_its_partition(cluster):
    prefix = unique_name("rf") + "."
    done = await asyncio.to_thread(gonghui_topics, cluster.bootstrap, prefix, 3)
    assert done.returncode == 0, done.stderr
    topic = f"{prefix}members.member"
    settings = ServiceSettings(kafka_bootstrap=cluster.bootstrap)
    producer = new_producer(settings)  # the relay's producer: acks=all, idempotent
    await producer.start()
    try:
        for i in range(30):
            await producer.send_and_wait(topic, f"before-{i}".encode(), partition=i % 3)
        leader = producer.client.cluster.leader_for_partition(TopicPartition(topic, 0))
        cluster.node(leader).proc.kill()  # a crash, not a clean shutdown
        await cluster.node(leader).stop()
        # Two replicas are left: min.insync.replicas=2 still takes acks=all writes.
        async with asyncio.timeout(60):
            for i in range(30):
                await producer.send_and_wait(topic, f"after-{i}".encode(), partition=i % 3)
    finally:
        await producer.stop()
    try:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=cluster.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        values: list[bytes] = []
        try:
            async with asyncio.timeout(60):
                while len(values) < 60:
                    batch = await consumer.getmany(timeout_ms=500)
                    values += [r.value for records in batch.values() for r in records]
        finally:
            await consumer.stop()
        expected = [f"{when}-{i}".encode() for when in ("before", "after") for i in range(30)]
        assert sorted(values) == sorted(expected)
    finally:
        await cluster.node(leader).start()
        await cluster.wait_brokers(3)

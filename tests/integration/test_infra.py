"""The session's infrastructure itself: topics, a raw Kafka round trip, FerretDB/MongoDB,
a broker restart that keeps its data, and the SMTP catcher's Maildir."""

from __future__ import annotations

import asyncio
import mailbox
from email.header import decode_header, make_header
from email.message import EmailMessage

import aiosmtplib
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import InvalidReplicationFactorError
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from shared.topics import all_topics, ensure_topics, partitions_of
from tests.infra import unique_name
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


async def _admin(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    return admin


async def _create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = await _admin(bootstrap)
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = await _admin(bootstrap)
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send_and_wait(topic, value, key=f"k{i}".encode())
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str, count: int, timeout_s: float = 30) -> list[bytes]:
    """The first `count` values on the topic, from the beginning (no group)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(values) < count:
                batch = await consumer.getmany(timeout_ms=500)
                values += [r.value for records in batch.values() for r in records]
    finally:
        await consumer.stop()
    return values


async def test_ensure_topics_creates_every_declared_topic_with_its_partitions(infra):
    prefix = unique_name("ti") + "."
    names = [f"{prefix}{t.name}" for t in all_topics()]
    created = await ensure_topics(infra.kafka_bootstrap, prefix)
    try:
        assert sorted(created) == sorted(names)
        for topic in all_topics():
            partitions = await partitions_of(infra.kafka_bootstrap, f"{prefix}{topic.name}")
            assert len(partitions) == topic.partitions, topic.name
        assert await ensure_topics(infra.kafka_bootstrap, prefix) == []  # idempotent
    finally:
        await _delete_topics(infra.kafka_bootstrap, names)


async def test_ensure_topics_refuses_more_replicas_than_brokers_and_creates_nothing(infra):
    admin = await _admin(infra.kafka_bootstrap)
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
    finally:
        await admin.close()
    prefix = unique_name("ti") + "."
    with pytest.raises(InvalidReplicationFactorError):
        await ensure_topics(infra.kafka_bootstrap, prefix, replication=brokers + 1)
    admin = await _admin(infra.kafka_bootstrap)
    try:
        assert not [t for t in await admin.list_topics() if t.startswith(prefix)]
    finally:
        await admin.close()


async def test_raw_kafka_produce_consume_round_trip(infra):
    topic = unique_name("raw.")
    await _create_topic(infra.kafka_bootstrap, topic)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        await producer.send_and_wait(
            topic, "你好，工会".encode(), key=b"m-1", headers=[("ce_type", b"test.v1")]
        )
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=infra.kafka_bootstrap,
        group_id=unique_name("g"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert (record.key, record.value.decode()) == (b"m-1", "你好，工会")
    assert dict(record.headers) == {"ce_type": b"test.v1"}
    await _delete_topics(infra.kafka_bootstrap, [topic])


async def test_mongo_wire_server_pings_and_a_unique_index_rejects_a_duplicate(infra):
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, serverSelectionTimeoutMS=10000)
    db = client[unique_name("ti_")]
    try:
        assert (await client.admin.command("ping"))["ok"] == 1
        members = db["members"]
        await members.create_index("staff_no", unique=True)
        await members.insert_one({"_id": "m-1", "staff_no": "T1", "name": "王老师"})
        with pytest.raises(DuplicateKeyError):
            await members.insert_one({"_id": "m-2", "staff_no": "T1", "name": "李老师"})
        assert await members.count_documents({}) == 1
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_kafka_stop_and_start_keeps_earlier_messages(infra):
    if not infra.controllable:
        pytest.skip(f"the {infra.mode} broker is not ours to stop")
    topic = unique_name("restart.")
    await _create_topic(infra.kafka_bootstrap, topic, partitions=2)
    await _produce(infra.kafka_bootstrap, topic, [b"one", b"two", b"three"])
    await infra.stop_kafka()
    try:
        host, port = infra.kafka_bootstrap.rsplit(":", 1)
        with pytest.raises(OSError):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.close()
    finally:
        await infra.start_kafka()
    values = await _read(infra.kafka_bootstrap, topic, 3)
    assert sorted(values) == [b"one", b"three", b"two"]
    await _produce(infra.kafka_bootstrap, topic, [b"four"])
    assert len(await _read(infra.kafka_bootstrap, topic, 4)) == 4
    await _delete_topics(infra.kafka_bootstrap, [topic])


async def test_smtp_catcher_stores_a_sent_mail_in_the_maildir(infra):
    if infra.maildir is None:
        pytest.skip("the SMTP server is external; no local Maildir to look into")
    to = f"{unique_name('u')}@school.local"
    message = EmailMessage()
    message["From"] = "工会 <union@gonghui.local>"
    message["To"] = to
    message["Subject"] = "欢迎加入学校工会"
    message.set_content("王老师，您好！")
    await aiosmtplib.send(message, hostname=infra.smtp_host, port=infra.smtp_port, timeout=10)

    def stored() -> list:
        return [m for m in mailbox.Maildir(infra.maildir) if m["To"] == to]

    async def arrived() -> bool:
        return bool(stored())

    await wait_until(arrived, 10, "the mail in the Maildir")
    [mail] = stored()
    assert str(make_header(decode_header(mail["Subject"]))) == "欢迎加入学校工会"
    assert "王老师" in mail.get_payload(decode=True).decode(mail.get_content_charset() or "utf-8")

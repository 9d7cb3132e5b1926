"""What another system sees: a client that shares no code with Gonghui, and the projections.

librdkafka (through confluent-kafka) is a separate Kafka implementation; the envelope is
checked against the CloudEvents 1.0 attribute rules and the data against the published JSON
Schema in docs/events, the same files a subscriber would use.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from jsonschema import Draft202012Validator, FormatChecker

from services.events.bootstrap import bootstrap as events_bootstrap
from services.events.settings import EventsSettings
from services.welfare.bootstrap import bootstrap as welfare_bootstrap
from services.welfare.settings import WelfareSettings
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from tests.integration.conftest import Stack, join, settings_for
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events" / "schemas"

# CloudEvents 1.0 core: required attributes, and extension names are lower-case a-z0-9.
CLOUDEVENT_SCHEMA = {
    "type": "object",
    "required": ["specversion", "id", "source", "type"],
    "properties": {
        "specversion": {"const": "1.0"},
        "id": {"type": "string", "minLength": 1},
        "source": {"type": "string", "minLength": 1, "format": "uri-reference"},
        "type": {"type": "string", "minLength": 1},
        "subject": {"type": "string", "minLength": 1},
        "time": {"type": "string", "format": "date-time"},
        "datacontenttype": {"type": "string"},
        "data": {},
    },
    "propertyNames": {"pattern": "^[a-z0-9]{1,20}$"},
}


def consume_with_librdkafka(bootstrap: str, topic: str, want: int, timeout_s: float = 30) -> list:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"outsider-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    messages: list = []
    try:
        loops = int(timeout_s / 0.5)
        while len(messages) < want and loops:
            loops -= 1
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                messages.append(msg)
    finally:
        consumer.close()
    return messages


async def test_an_independent_client_reads_valid_cloudevents_on_both_topics(stack: Stack):
    member = await join(stack, "X0001", email="x0001@school.local", gender="female")
    found = []
    for topic, want in (("members.member", 2), ("members.contact", 1)):
        found += await asyncio.to_thread(
            consume_with_librdkafka, stack.bootstrap, stack.topic(topic), want
        )
    assert len(found) == 3
    for msg in found:
        assert msg.key().decode() == member["id"]
        assert dict(msg.headers())["content-type"].startswith(b"application/cloudevents+json")
        event = json.loads(msg.value())
        Draft202012Validator(CLOUDEVENT_SCHEMA, format_checker=FormatChecker()).validate(event)
        assert re.fullmatch(r"[a-z]+\.[a-z]+\.[a-z_]+\.v\d+", event["type"])
        assert event["campus"] == "main" and event["subject"] == member["id"]
        assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", event["traceparent"])
        schema = json.loads((SCHEMAS / f"{event['type']}.json").read_text())
        Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["data"])
        # The e-mail is only on the contact topic; the shared topic never carries it.
        on_contact = event["type"].startswith("members.contact.")
        assert ("x0001@school.local" in msg.value().decode()) == on_contact
    types = sorted(json.loads(m.value())["type"] for m in found)
    assert types == [
        "members.contact.changed.v1",
        "members.member.joined.v1",
        "members.member.joined.v2",
    ]


async def test_events_and_welfare_learn_the_member_from_the_event(infra, stack: Stack):
    runtimes = [
        events_bootstrap(settings_for(EventsSettings, infra, stack.prefix), configure_logs=False),
        welfare_bootstrap(settings_for(WelfareSettings, infra, stack.prefix), configure_logs=False),
    ]
    for runtime in runtimes:
        await runtime.start()
    try:
        member = await join(stack, "X0002", department="艺术系", phone="13800000009")
        for runtime in runtimes:
            directory = runtime.db[MEMBER_DIRECTORY]

            async def known(directory=directory) -> bool:
                return await directory.find_one({"_id": member["id"]}) is not None

            await wait_until(known, 30, f"{runtime.service} to learn the member")
            doc = await directory.find_one({"_id": member["id"]})
            assert doc is not None
            assert doc["department"] == "艺术系" and doc["campus"] == "main"
            assert "phone" not in doc  # never travelled in the event
    finally:
        for runtime in runtimes:
            await runtime.stop(drop_database=True)

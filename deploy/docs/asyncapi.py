"""The event catalog: one JSON Schema per event type and the AsyncAPI 3.0.0 document.

Everything here is built from code: the event models registered in `shared.events`, the
topics declared in `shared.topics`, the envelope in `shared.envelope`, and the routing
tables the services' composition roots subscribe with (who receives what).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from shared.dlq import DEAD_LETTER_HEADERS, REPLAY_GROUP
from shared.envelope import CloudEvent
from shared.events import IntegrationEvent, load_all
from shared.topics import DAY_MS, TOPICS, Topic

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_CONTENT_TYPE = "application/cloudevents+json"
KAFKA_BINDING_VERSION = "0.5.0"
SCHEMA_DIR = "schemas"  # relative to the AsyncAPI document


def schema_id(event_type: str) -> str:
    return f"urn:gonghui:event:{event_type}"


def published_events() -> dict[str, type[IntegrationEvent]]:
    """The event types of the catalog: every model registered by a `shared.events` module.

    Models registered from elsewhere (a test declaring a throw-away event type) are not part
    of the published contract.
    """
    return {
        event_type: model
        for event_type, model in sorted(load_all().items())
        if model.__module__.startswith("shared.events")
    }


def event_schema(model: type[IntegrationEvent]) -> dict[str, Any]:
    """The JSON Schema of one event type's `data`."""
    doc = inspect.getdoc(model) if "__doc__" in model.__dict__ and model.__doc__ else None
    if not doc:
        raise ValueError(
            f"{model.__qualname__} ({model.type}) needs a docstring: it documents the event"
        )
    schema = model.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id(model.type),
        **schema,
        "title": model.__name__,
        "description": doc,
        "x-gonghui-type": model.type,
        "x-gonghui-topic": model.topic,
        "x-gonghui-summary": model.summary,
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    return {event_type: event_schema(model) for event_type, model in published_events().items()}


def _ref(*parts: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)}


def _channel_binding(topic: Topic) -> dict[str, Any]:
    return {
        "kafka": {
            "partitions": topic.partitions,
            "topicConfiguration": {
                "cleanup.policy": ["delete"],
                "retention.ms": topic.retention_days * DAY_MS,
            },
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _message(model: type[IntegrationEvent]) -> dict[str, Any]:
    service = model.type.split(".")[0]
    return {
        "name": model.type,
        "title": model.__name__,
        "summary": model.summary or model.type,
        "description": inspect.getdoc(model),
        "contentType": KAFKA_CONTENT_TYPE,
        "headers": _ref("components", "schemas", "KafkaHeaders"),
        "payload": {
            "allOf": [
                _ref("components", "schemas", "CloudEvent"),
                {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "type": {"const": model.type},
                        "source": {"const": f"gonghui/{service}"},
                        "data": {"$ref": f"./{SCHEMA_DIR}/{model.type}.json"},
                    },
                },
            ]
        },
        "correlationId": {
            "description": "the CloudEvent id; handlers remember it to ignore redeliveries",
            "location": "$message.payload#/id",
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": "string",
                    "description": "the aggregate id, equal to the CloudEvent `subject`",
                },
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


DEAD_LETTER_MESSAGE: dict[str, Any] = {
    "name": "dead-letter",
    "title": "Dead letter",
    "summary": "死信：处理失败的原始消息",
    "description": (
        "The record a consumer could not handle, byte for byte as it was on the original "
        "topic (usually a CloudEvent of that topic; possibly not even JSON), with the same "
        "key, and headers saying where it came from and why it failed. "
        "`gonghui dlq list <topic>` shows them; `gonghui dlq replay <topic>` republishes the "
        "ones not yet replayed to their original topic (progress is the committed offset of "
        "the consumer group `gonghui-dlq-replay`)."
    ),
    "contentType": KAFKA_CONTENT_TYPE,
    "headers": {
        "type": "object",
        "required": sorted(DEAD_LETTER_HEADERS),
        "properties": {
            name: {"type": "string", "description": text}
            for name, text in DEAD_LETTER_HEADERS.items()
        },
    },
    "payload": {"description": "the original record value, unchanged"},
    "bindings": {
        "kafka": {
            "key": {"type": "string", "description": "the original record key (aggregate id)"},
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    },
}

INFO_DESCRIPTION = """\
Integration events of Gonghui (工会), the staff trade-union platform: what its services
publish on Kafka, and who inside Gonghui subscribes. Other systems (HR, finance, the campus
portal, chat bots) subscribe to the same topics.

- **Envelope**: [CloudEvents 1.0](https://github.com/cloudevents/spec) in JSON structured
  mode; the record value is the whole envelope, header `content-type:
  application/cloudevents+json`. Extensions: `campus`, `traceparent` (W3C trace context),
  `sequence` (the event's place among its subject's events; compare as strings).
- **Type**: `<service>.<aggregate>.<fact>.v<N>`; the event's own fields are in `data`,
  described by one JSON Schema per type in `schemas/<type>.json`.
- **Topics**: one per aggregate, named `<service>.<aggregate>`; deployments may put a
  prefix in front (`GONGHUI_TOPIC_PREFIX`).
- **Key**: the aggregate id, which is also the CloudEvent `subject`, so the events of one
  aggregate stay in order on one partition.
- **Delivery**: at least once. Producers use `acks=all` and idempotence and publish from a
  transactional outbox; consumers commit after handling and remember handled event ids, so
  a redelivery changes nothing. Use the CloudEvent `id` to deduplicate, and `sequence` to
  ignore an event older than one already applied for the same `subject` (a replay).
- **Dead letters**: a record a consumer cannot handle after its retries goes to
  `<topic>.dlq` with the error in its headers.
- **Versioning**: a published event type never changes incompatibly (no removed or retyped
  property, no newly required property); such a change is a new type `….v<N+1>`. CI checks
  this against the checked-in schemas.
- **Privacy**: events carry what subscribers need and no more: no ID-card numbers, no
  salaries.
"""


def asyncapi_document(
    *,
    version: str,
    subscriptions: Mapping[str, Mapping[str, Sequence[str]]],
    consumer_groups: Mapping[str, str],
) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every declared topic and registered event type.

    `subscriptions`: service -> event type -> handler names (from the services' routes);
    `consumer_groups`: service -> its default consumer group.
    """
    events = published_events()
    declared = {t.name for t in TOPICS}
    for model in events.values():
        if model.topic not in declared:
            raise ValueError(
                f"{model.type} travels on {model.topic}, which shared.topics does not declare"
            )

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {"dead-letter": DEAD_LETTER_MESSAGE}

    for topic in TOPICS:
        on_topic = {t: m for t, m in events.items() if m.topic == topic.name}
        for event_type, model in on_topic.items():
            messages[event_type] = _message(model)
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": topic.description,
            "messages": {t: _ref("components", "messages", t) for t in on_topic},
            "bindings": _channel_binding(topic),
        }
        dlq = topic.dlq
        channels[dlq.name] = {
            "address": dlq.name,
            "title": dlq.name,
            "description": f"{dlq.description}: records a subscriber could not handle.",
            "messages": {"dead-letter": _ref("components", "messages", "dead-letter")},
            "bindings": _channel_binding(dlq),
        }
        if not on_topic:
            continue

        publisher = topic.name.split(".")[0]
        operations[f"{publisher}.send.{topic.name}"] = {
            "action": "send",
            "channel": _ref("channels", topic.name),
            "title": f"{publisher} publishes {topic.name}",
            "summary": f"the {publisher} service publishes its {topic.name.split('.')[1]} events",
            "description": (
                f"Published by the {publisher} service from the outbox of the changed "
                "document (acks=all, idempotent producer); key = aggregate id = `subject`."
            ),
            "messages": [_ref("channels", topic.name, "messages", t) for t in on_topic],
        }
        for service in sorted(subscriptions):
            subs = subscriptions[service]
            # `<topic>:*` marks a handler of every event on the topic (a view projection).
            every = list(subs.get(f"{topic.name}:*", []))
            handled = {t: [*every, *subs.get(t, [])] for t in on_topic if every or t in subs}
            if not handled:
                continue
            group = consumer_groups.get(service, f"gonghui-{service}")
            handlers = "; ".join(f"{t} → {', '.join(hs)}" for t, hs in sorted(handled.items()))
            operations[f"{service}.receive.{topic.name}"] = {
                "action": "receive",
                "channel": _ref("channels", topic.name),
                "title": f"{service} subscribes to {topic.name}",
                "summary": f"the {service} service reacts to {', '.join(sorted(handled))}",
                "description": (
                    f"Handlers: {handlers}. Offsets are committed after handling; "
                    f"a record that keeps failing goes to {dlq.name}."
                ),
                "messages": [_ref("channels", topic.name, "messages", t) for t in sorted(handled)],
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "const": group},
                        "bindingVersion": KAFKA_BINDING_VERSION,
                    }
                },
            }
            operations[f"{service}.send.{dlq.name}"] = {
                "action": "send",
                "channel": _ref("channels", dlq.name),
                "title": f"{service} dead-letters {topic.name}",
                "summary": f"{service} gives up on a record of {topic.name}",
                "messages": [_ref("channels", dlq.name, "messages", "dead-letter")],
            }
        operations[f"operator.receive.{dlq.name}"] = {
            "action": "receive",
            "channel": _ref("channels", dlq.name),
            "title": f"operator lists and replays {dlq.name}",
            "summary": f"`gonghui dlq list|replay {topic.name}`",
            "messages": [_ref("channels", dlq.name, "messages", "dead-letter")],
            "bindings": {
                "kafka": {
                    "groupId": {"type": "string", "const": REPLAY_GROUP},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }

    envelope = CloudEvent.model_json_schema()
    return {
        "asyncapi": "3.0.0",
        "id": "urn:gonghui:events",
        "info": {
            "title": "Gonghui 工会 integration events",
            "version": version,
            "description": INFO_DESCRIPTION,
        },
        "defaultContentType": KAFKA_CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "the embedded broker of `make run` (KRaft, one node)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {
                "CloudEvent": envelope,
                "KafkaHeaders": {
                    "type": "object",
                    "properties": {
                        "content-type": {"type": "string", "const": KAFKA_CONTENT_TYPE},
                    },
                },
            },
            "messages": messages,
        },
    }

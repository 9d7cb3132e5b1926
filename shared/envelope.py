"""CloudEvents 1.0 envelope, JSON structured mode (DESIGN §3)."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"


def new_traceparent(trace_id: str | None = None) -> str:
    """A W3C traceparent; keeps the trace id when one is given."""
    return f"00-{trace_id or os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class CloudEvent(BaseModel):
    """The envelope every Gonghui event travels in.

    The Kafka key is `partitionkey` when set (CloudEvents Kafka binding), else `subject`.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    specversion: str = Field("1.0", description="CloudEvents version")
    id: str = Field(default_factory=lambda: str(uuid.uuid4()), description="unique event id")
    source: str = Field(description="the service that emitted it, e.g. `gonghui/members`")
    type: str = Field(description="`<service>.<aggregate>.<fact>.v<N>`")
    subject: str = Field(description="aggregate id; also the Kafka key")
    time: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="when it happened (UTC)"
    )
    datacontenttype: str = Field("application/json")
    campus: str = Field(description="campus the aggregate belongs to (extension)")
    traceparent: str | None = Field(None, description="W3C trace context (extension)")
    sequence: str | None = Field(
        None,
        description=(
            "order of this event among its subject's events (CloudEvents `sequence` extension): "
            "compare as strings, only between events of the same subject; a subscriber that "
            "has applied a higher sequence ignores a lower one (redelivery, DLQ replay)"
        ),
    )
    partitionkey: str | None = Field(
        None,
        description=(
            "CloudEvents `partitionkey` extension: the Kafka key when events of many subjects "
            "must stay in one partition's order (a registration's events are keyed by their "
            "activity); absent means the subject is the key"
        ),
    )
    data: dict[str, Any] = Field(default_factory=dict, description="the event payload")

    @property
    def kafka_key(self) -> str:
        """The Kafka record key: the partition key if the event has one, else its subject."""
        return self.partitionkey or self.subject

    def to_json_bytes(self) -> bytes:
        doc = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)

    def to_outbox(self) -> dict[str, Any]:
        """The form kept in a document's outbox array (plain BSON types)."""
        return self.model_dump(mode="python", exclude_none=True)


def topic_of(event_type: str) -> str:
    """`members.member.joined.v1` travels on `members.member` (one topic per aggregate)."""
    service, aggregate, *_ = event_type.split(".")
    return f"{service}.{aggregate}"

"""Integration events: one pydantic model per event type, collected in one registry.

The models are the published contract: `make docs` turns them into the AsyncAPI catalog and
JSON Schemas, and CI refuses a breaking change that does not raise the version. Every module
in this package is a contract module (`members.py` for `members.*` events, …); `load_all`
discovers them, so a new one needs no list edited anywhere.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from shared.envelope import CloudEvent, new_traceparent

REGISTRY: dict[str, type[IntegrationEvent]] = {}


def sequence_of(version: int, index: int = 0) -> str:
    """The `sequence` of the index-th event of an aggregate's version-th change.

    Fixed width, so string order is numeric order (the CloudEvents extension is a string).
    """
    return f"{version:010d}.{index:03d}"


def version_of(sequence: str) -> int:
    """The aggregate version a `sequence_of` string was made from."""
    return int(sequence.split(".", 1)[0])


class IntegrationEvent(BaseModel):
    """Base of every event payload (`data` of the envelope)."""

    model_config = ConfigDict(extra="ignore")

    type: ClassVar[str]
    topic: ClassVar[str]
    summary: ClassVar[str] = ""
    # The payload field that holds the aggregate's id (`member_id`), filled from its `id`.
    subject_field: ClassVar[str | None] = None
    # Published as a Kafka tombstone (the subject as key, no value) on a compacted topic.
    tombstone: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in REGISTRY:
                raise TypeError(f"event type {cls.type} is declared twice")
            REGISTRY[cls.type] = cls

    @classmethod
    def of(cls, source: Any, **values: Any) -> Self:
        """The event about `source` (an aggregate): each field is taken from the attribute of
        the same name unless given, so the field list is written once, here, in the contract."""
        data: dict[str, Any] = {}
        for name in cls.model_fields:
            if name in values:
                continue
            if name == cls.subject_field:
                data[name] = source.id
            elif hasattr(source, name):
                data[name] = getattr(source, name)
        return cls(**data, **values)

    def envelope(
        self,
        *,
        source: str,
        subject: str,
        campus: str,
        traceparent: str | None = None,
        sequence: str | None = None,
        partitionkey: str | None = None,
    ) -> CloudEvent:
        return CloudEvent(
            source=f"gonghui/{source}",
            type=self.type,
            subject=subject,
            campus=campus,
            traceparent=traceparent or new_traceparent(),
            sequence=sequence,
            partitionkey=partitionkey,
            data=self.model_dump(mode="json"),
        )


def parse(event: CloudEvent) -> IntegrationEvent | None:
    """The typed payload of an envelope, or None for a type this code does not know."""
    model = REGISTRY.get(event.type)
    return model.model_validate(event.data) if model else None


def load_all() -> dict[str, type[IntegrationEvent]]:
    """Import every contract module of this package so the registry is complete."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return REGISTRY

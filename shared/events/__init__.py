"""Integration events: one pydantic model per event type, collected in one registry.

The models are the published contract: `make docs` turns them into the AsyncAPI catalog and
JSON Schemas, and CI refuses a breaking change that does not raise the version.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from shared.envelope import CloudEvent, new_traceparent

REGISTRY: dict[str, type[IntegrationEvent]] = {}


class IntegrationEvent(BaseModel):
    """Base of every event payload (`data` of the envelope)."""

    model_config = ConfigDict(extra="ignore")

    type: ClassVar[str]
    topic: ClassVar[str]
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" in cls.__dict__:
            if cls.type in REGISTRY:
                raise TypeError(f"event type {cls.type} is declared twice")
            REGISTRY[cls.type] = cls

    def envelope(
        self, *, source: str, subject: str, campus: str, traceparent: str | None = None
    ) -> CloudEvent:
        return CloudEvent(
            source=f"gonghui/{source}",
            type=self.type,
            subject=subject,
            campus=campus,
            traceparent=traceparent or new_traceparent(),
            data=self.model_dump(mode="json"),
        )


def parse(event: CloudEvent) -> IntegrationEvent | None:
    """The typed payload of an envelope, or None for a type this code does not know."""
    model = REGISTRY.get(event.type)
    return model.model_validate(event.data) if model else None


def load_all() -> dict[str, type[IntegrationEvent]]:
    """Import every contract module so the registry is complete."""
    from shared.events import members  # noqa: F401

    return REGISTRY

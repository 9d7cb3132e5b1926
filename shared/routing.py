"""Which handler reacts to which event: a service declares its subscriptions in one list.

    def subscriptions(inbox: Inbox, mailer: Mailer) -> Routes:
        return [
            on(MemberJoined, on_member_joined, inbox, mailer),
            *member_directory_routes(directory),
        ]

A list, not a dict: two handlers of one event type are simply two entries, so composing the
routes of several modules can never drop one. Each route has a name (`module.qualname` of
the handler) that is unique within the service — `route_table` refuses a duplicate at
start-up — and that names the handler's processed-event markers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shared.envelope import CloudEvent
from shared.events import IntegrationEvent

Handler = Callable[[IntegrationEvent, CloudEvent], Awaitable[None]]
EnvelopeHandler = Callable[[CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    """One subscription: an event type (or every event on a topic) and what handles it."""

    name: str  # module.qualname of the handler: stable, part of its processed-event markers
    topic: str  # the declared topic (without the test/run prefix)
    event: type[IntegrationEvent] | None  # None: every event on the topic, as an envelope
    handler: Callable[..., Awaitable[None]]
    # The handler is idempotent by itself (a projection that re-reads its source): no
    # processed-event marker is checked or written for it.
    idempotent: bool = False
    # The marker name this handler used before names carried the module (bare qualname);
    # an event marked under it counts as processed, so an upgrade re-runs nothing.
    legacy_name: str | None = None


def handler_name(handler: Callable[..., object]) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"


def on(
    event: type[IntegrationEvent],
    handler: Callable[..., Awaitable[None]],
    *deps: object,
    legacy_name: str | None = None,
) -> Route:
    """`handler(event, envelope, *deps)` runs for every `event` (typed payload)."""

    async def bound(payload: IntegrationEvent, envelope: CloudEvent) -> None:
        await handler(payload, envelope, *deps)

    return Route(handler_name(handler), event.topic, event, bound, legacy_name=legacy_name)


def on_topic(
    topic: str, handler: Callable[..., Awaitable[None]], *deps: object, idempotent: bool = False
) -> Route:
    """`handler(envelope, *deps)` runs for every event on `topic`, known type or not."""

    async def bound(envelope: CloudEvent) -> None:
        await handler(envelope, *deps)

    return Route(handler_name(handler), topic, None, bound, idempotent=idempotent)


Routes = Sequence[Route]


@dataclass
class RouteTable:
    """The routes indexed for dispatch; built once, checked for collisions."""

    by_type: dict[str, list[Route]]
    by_topic: dict[str, list[Route]]

    @property
    def topics(self) -> list[str]:
        found = {r.topic for rs in self.by_type.values() for r in rs} | set(self.by_topic)
        return sorted(found)

    def for_event(self, topic: str, event_type: str) -> list[Route]:
        return [*self.by_topic.get(topic, []), *self.by_type.get(event_type, [])]


def route_table(routes: Routes) -> RouteTable:
    """Index routes by event type and topic; a name used twice fails loudly at start-up."""
    seen: dict[str, Route] = {}
    table = RouteTable({}, {})
    for route in routes:
        key = f"{route.name}@{route.event.type if route.event else route.topic}"
        if key in seen:
            raise ValueError(
                f"handler {route.name} is subscribed twice to "
                f"{route.event.type if route.event else route.topic}"
            )
        seen[key] = route
        if route.event is None:
            table.by_topic.setdefault(route.topic, []).append(route)
        else:
            table.by_type.setdefault(route.event.type, []).append(route)
    return table

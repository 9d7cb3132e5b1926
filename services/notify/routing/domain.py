"""What a route is (pure): who hears about an event, in which words, on which channels.

The routing table (`routing/table.py`) is a list of `NotifyRoute`s; `routing_table` indexes it
by event type and refuses a type routed twice at start-up, like `shared.routing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from shared.events import IntegrationEvent
from shared.labels import Labelled


class Audience(Labelled):
    member = "member", "事件涉及的会员本人"
    activity_audience = "activity_audience", "活动的可报名会员"
    activity_registrants = "activity_registrants", "活动的报名者"
    survey_audience = "survey_audience", "问卷面向的会员"
    campus_members = "campus_members", "校区（或全校）在册会员"
    campus_cadres = "campus_cadres", "校区工会干部"
    finance = "finance", "经费管理人员"
    address = "address", "事件指定的邮箱（登录链接、邮箱确认）"
    listed = "listed", "事件或提醒列出的会员（报名确认者、未选礼品者、未预约体检者）"


class ChannelName(Labelled):
    inbox = "inbox", "站内信"
    email = "email", "电子邮件"
    wecom = "wecom", "企业微信"
    sms = "sms", "短信"


class Category(Labelled):
    """What a member chooses channels for (我的通知设置)."""

    account = "account", "账号与安全"
    membership = "membership", "会籍"
    activity = "activity", "活动报名与变更"
    survey = "survey", "问卷调查"
    voice = "voice", "意见建议、评选表彰与教代会提案"
    welfare = "welfare", "福利与体检"
    funds = "funds", "经费预警"
    approval = "approval", "待审批事项"
    reminder = "reminder", "活动、选礼与体检提醒"
    announcement = "announcement", "通知公告"


@dataclass(frozen=True)
class Facts:
    """What an event tells the dispatcher: whom it is about, its scope, the template's values."""

    campus: str
    variables: Mapping[str, Any]
    member_id: str | None = None
    activity_id: str | None = None
    eligibility: Mapping[str, Any] | None = None
    member_ids: Sequence[str] | None = None  # Audience.listed: the members a reminder names


@dataclass(frozen=True)
class Reminder:
    """A message notify sends on its own clock (`reminders/`), routed like an event but never
    published: its `reminder_id` is the event id of its deliveries."""

    type: ClassVar[str]
    summary: ClassVar[str]

    reminder_id: str
    campus: str


# A route's facts from its event (or reminder) and when that happened: the envelope's time
# (not when notify got round to it: after an outage or a replay a notice still says when),
# a reminder's when it fires; always an aware datetime.
FactsOf = Callable[[Any, datetime], Facts]


@dataclass(frozen=True)
class NotifyRoute:
    event: type[IntegrationEvent] | type[Reminder]
    audience: Audience
    template: str
    channels: tuple[ChannelName, ...]
    category: Category
    facts_of: FactsOf
    mandatory: bool = False
    # False: this event, for this reason, is told by another route (a registration cancelled
    # because the activity was: the cancellation of the activity says it once).
    when: Callable[[Any], bool] = field(default=lambda _event: True)

    @property
    def event_type(self) -> str:
        return self.event.type

    def facts(self, event: Any, at: datetime) -> Facts:
        """The event's facts; `at`: when it happened (the envelope's time, a reminder's
        firing; a naive one is UTC, as envelopes are)."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return self.facts_of(event, at)


@dataclass(frozen=True)
class RoutingTable:
    routes: Mapping[str, NotifyRoute]  # catalogued event types
    unrouted: Mapping[str, str]
    reminders: Mapping[str, NotifyRoute] = field(default_factory=dict)  # notify's own clock

    def get(self, event_type: str) -> NotifyRoute | None:
        return self.routes.get(event_type)

    def route(self, event_type: str) -> NotifyRoute:
        """The route of an event type or a reminder type (KeyError for neither)."""
        found = self.routes.get(event_type) or self.reminders.get(event_type)
        if found is None:
            raise KeyError(event_type)
        return found

    def uncovered(self, catalog: Sequence[str]) -> list[str]:
        """Catalogued types in neither the routes nor the conscious unrouted list."""
        return sorted(t for t in catalog if t not in self.routes and t not in self.unrouted)


def routing_table(
    routes: Sequence[NotifyRoute],
    unrouted: Mapping[str, str],
    reminders: Sequence[NotifyRoute] = (),
) -> RoutingTable:
    """Index routes by event type; a type routed twice, or routed and unrouted, fails loudly."""
    found: dict[str, NotifyRoute] = {}
    for route in [*routes, *reminders]:
        if route.event_type in found:
            raise ValueError(f"event type {route.event_type} is routed twice")
        if route.event_type in unrouted:
            raise ValueError(f"event type {route.event_type} is both routed and unrouted")
        found[route.event_type] = route
    own = {r.event_type for r in reminders}
    events = {t: r for t, r in found.items() if t not in own}
    return RoutingTable(events, dict(unrouted), {t: found[t] for t in own})

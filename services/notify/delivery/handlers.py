"""Dispatching (派发): an event's route becomes one delivery per recipient and channel.

The Kafka handler only dispatches: it writes the inbox messages (a database insert) and
queues every other channel's deliveries; the delivery worker (`delivery/worker.py`) sends
them, retries with backoff and fails them after N attempts. Nothing slow or flaky runs
inside the handler, so an SMTP outage neither stalls a partition nor dead-letters anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.channels.base import Channel, Message
from services.notify.delivery.domain import DeliveryStatus, delivery_id, notice_id
from services.notify.delivery.store import Deliveries
from services.notify.preferences.domain import channels_for, send_after
from services.notify.preferences.store import PreferenceStore
from services.notify.routing.audience import Audiences
from services.notify.routing.contacts import Contacts, address_of
from services.notify.routing.domain import ChannelName, Facts, RoutingTable
from services.notify.templates.domain import TemplateText, render_message
from services.notify.templates.store import Templates
from shared.crypto import Sealer
from shared.timeutil import utcnow


@dataclass(frozen=True)
class Dispatch:
    """Command: tell the people an event's route names about it."""

    event_id: str
    event_type: str
    facts: Facts
    # Values the route needs that must not lie in clear in the database (a login link, a new
    # address): sealed into the delivery, opened by the worker only to send.
    secret: Mapping[str, str] | None = None
    template: str | None = None  # another template of the route (the old address's notice)
    variant: str = ""


@dataclass
class Dispatcher:
    table: RoutingTable
    audiences: Audiences
    contacts: Contacts
    preferences: PreferenceStore
    templates: Templates
    inbox: Channel  # the inbox channel (notices/channel.py): written here, not queued
    deliveries: Deliveries
    sealer: Sealer
    enabled: frozenset[ChannelName] = field(default_factory=lambda: frozenset(ChannelName))


SECRET_WHERE = "notify.delivery"


async def dispatch(cmd: Dispatch, d: Dispatcher, now: datetime | None = None) -> int:
    """Deliveries this call created (0 when the event was dispatched before)."""
    route = d.table.route(cmd.event_type)
    template = cmd.template or route.template
    now = now or utcnow()
    recipients = await d.audiences.resolve(route.audience, cmd.facts)
    ids = [r.member_id for r in recipients]
    prefs = await d.preferences.get_many(ids)
    contacts = await d.contacts.get_many(ids)
    texts: dict[str, TemplateText] = {}
    warned: set[str] = set()
    inbox_docs: list[dict[str, Any]] = []
    pending: list[tuple[str, ChannelName, dict[str, Any]]] = []
    for recipient in recipients:
        member = recipient.member_id
        contact = contacts.get(member)
        campus = recipient.campus or (contact.campus if contact else "") or cmd.facts.campus
        name = recipient.name or (contact.name if contact else "")
        variables = {"name": name, **cmd.facts.variables}
        sealed = None
        if cmd.secret:
            sealed = d.sealer.seal(json.dumps(dict(cmd.secret)), SECRET_WHERE, cmd.event_id, member)
        base: dict[str, Any] = {
            "event_id": cmd.event_id,
            "event_type": cmd.event_type,
            "template": template,
            "category": route.category.value,
            "mandatory": route.mandatory,
            "member_id": member,
            "campus": campus,
            "variables": variables,
            "sealed": sealed,
            "tries": 0,
            "failures": 0,
            "last_error": None,
            "created_at": now,
        }
        for channel in channels_for(route, prefs[member]):
            if channel not in d.enabled:
                continue
            key = delivery_id(cmd.event_id, member, channel.value, cmd.variant)
            if channel is not ChannelName.inbox:
                pending.append((key, channel, base))
                continue
            if campus not in texts:
                texts[campus] = await d.templates.text_for(template, campus)
            rendered = render_message(
                texts[campus],
                variables,
                template=template,
                campus=campus,
                event_type=cmd.event_type,
                warned=warned,
            )
            nid = notice_id(cmd.event_id, member)
            message = Message(
                nid, member, campus, template, member, rendered.title, rendered.text, ""
            )
            await d.inbox.send(message)
            inbox_docs.append(
                {
                    "_id": key,
                    "channel": channel.value,
                    **base,
                    "status": DeliveryStatus.sent.value,
                    "sent_at": now,
                    "next_at": None,
                }
            )
    created = len(await d.deliveries.add_many(inbox_docs))
    # The addresses are read after the inbox deliveries are written: contact details that
    # arrive meanwhile (another partition) find those and queue what is missing, so one of
    # the two handlers always sees the other's write.
    addresses = await d.contacts.get_many(sorted({b["member_id"] for _, _, b in pending}))
    docs: list[dict[str, Any]] = []
    for key, channel, base in pending:
        member = base["member_id"]
        given = cmd.secret and "to" in cmd.secret and channel is ChannelName.email
        if not given and not address_of(addresses.get(member), channel.value):
            continue  # no address on this channel (yet)
        next_at = send_after(channel, prefs[member], now)
        docs.append(
            {
                "_id": key,
                "channel": channel.value,
                **base,
                "status": DeliveryStatus.queued.value,
                "next_at": next_at,
            }
        )
    return created + len(await d.deliveries.add_many(docs))

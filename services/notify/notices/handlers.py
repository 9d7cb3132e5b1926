"""Notice use cases, and the integration events that start them.

An integration event only maps to a command; the command's use case dispatches it through
the routing table (`routing/table.py`): recipients, template, channels, mandatory.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from services.notify.delivery.handlers import Dispatch, Dispatcher, dispatch
from services.notify.notices.domain import ConfirmEmail, MailLoginLink, WelcomeMember
from services.notify.routing.contacts import Contact, Contacts
from services.notify.routing.domain import Facts
from services.notify.routing.table import TABLE, day
from shared.crypto import Box, Sealer, SealError
from shared.envelope import CloudEvent
from shared.events import IntegrationEvent
from shared.events.members import (
    ContactChanged,
    ContactErased,
    EmailChangeRequested,
    LoginLinkRequestedV2,
    MemberJoinedV2,
)
from shared.text import mask_email
from shared.timeutil import SHANGHAI, utcnow

log = logging.getLogger(__name__)

# A welcome whose member's e-mail arrives later than this is not mailed any more.
LATE_EMAIL = timedelta(days=7)


async def on_routed_event(
    event: IntegrationEvent, envelope: CloudEvent, dispatcher: Dispatcher
) -> None:
    """Every routed event without a use case of its own: its route's facts are the command."""
    route = TABLE.routes[event.type]
    if not route.when(event):
        return
    facts = route.facts(event, envelope.time)  # when it happened, not when notify got to it
    await dispatch(Dispatch(envelope.id, event.type, facts), dispatcher)


async def welcome_member(cmd: WelcomeMember, cause: str, dispatcher: Dispatcher) -> None:
    facts = Facts(
        cmd.campus,
        {"name": cmd.name, "joined_on": day(cmd.joined_on)},
        member_id=cmd.member_id,
    )
    await dispatch(Dispatch(cause, MemberJoinedV2.type, facts), dispatcher)


async def on_member_joined(
    event: MemberJoinedV2, envelope: CloudEvent, dispatcher: Dispatcher
) -> None:
    """An integration event only maps to a command."""
    assert event.joined_on is not None
    cmd = WelcomeMember(
        member_id=event.member_id, name=event.name, campus=event.campus, joined_on=event.joined_on
    )
    await welcome_member(cmd, envelope.id, dispatcher)


async def on_contact_changed(
    event: ContactChanged, envelope: CloudEvent, contacts: Contacts, dispatcher: Dispatcher
) -> None:
    """Remember the details; a welcome that had no address yet gets its e-mail now (the
    dispatch is keyed by the welcome's event: a welcome already mailed is not mailed again)."""
    contact = Contact(
        member_id=event.member_id,
        name=event.name,
        campus=event.campus,
        phone=event.phone,
        email=event.email,
        wecom_userid=event.wecom_userid,
    )
    await contacts.apply(contact, envelope)  # ignored when older than what is stored
    since = utcnow() - LATE_EMAIL
    for welcome in await dispatcher.deliveries.recent(event.member_id, MemberJoinedV2.type, since):
        facts = Facts(welcome["campus"], welcome["variables"], member_id=event.member_id)
        await dispatch(Dispatch(welcome["event_id"], MemberJoinedV2.type, facts), dispatcher)


async def on_contact_erased(event: ContactErased, envelope: CloudEvent, contacts: Contacts) -> None:
    """The member left: forget how to reach them."""
    await contacts.erase(event.member_id)


async def mail_login_link(cmd: MailLoginLink, cause: str, dispatcher: Dispatcher) -> None:
    """Queue the link for the address notify knows (members never sends it). The link is
    sealed in the delivery; a link that runs out while it waits (an outage) is not mailed."""
    if cmd.expires_at <= utcnow():
        log.info("login link for %s expired before it could be mailed", cmd.member_id)
        return
    secret = {
        "url": cmd.url,
        "expires": f"{cmd.expires_at.astimezone(SHANGHAI):%H:%M}",
        "expires_at": cmd.expires_at.isoformat(),
    }
    facts = Facts(cmd.campus, {}, member_id=cmd.member_id)
    await dispatch(Dispatch(cause, LoginLinkRequestedV2.type, facts, secret=secret), dispatcher)


async def on_login_link_requested(
    event: LoginLinkRequestedV2,
    envelope: CloudEvent,
    dispatcher: Dispatcher,
    web_base_url: str,
    box: Box,
) -> None:
    """The link arrives sealed for notify; it is opened here only to be sealed again into
    its delivery (never logged, never stored in clear)."""
    try:
        link_path = box.open(event.sealed_link, event.type, event.member_id)
    except SealError:
        # Sealed for another key (a rotation half-way), or moved onto another member: a retry
        # cannot help, and the member asks for a new link.
        log.warning(
            "login link for %s does not open with notify's key: not mailed", event.member_id
        )
        return
    cmd = MailLoginLink(
        member_id=event.member_id,
        campus=event.campus,
        url=web_base_url.rstrip("/") + link_path,
        expires_at=event.expires_at,
    )
    await mail_login_link(cmd, envelope.id, dispatcher)


async def confirm_email(
    cmd: ConfirmEmail, cause: str, contacts: Contacts, dispatcher: Dispatcher
) -> None:
    """Mail the link to the new address and tell the old one (the address notify knows is
    the confirmed one: the pending address never reaches `members.contact`)."""
    if cmd.expires_at <= utcnow():
        log.info("e-mail confirmation for %s expired before it could be mailed", cmd.member_id)
        return
    local = cmd.expires_at.astimezone(SHANGHAI)
    secret = {
        "to": cmd.to,
        "url": cmd.url,
        "expires": f"{local:%m月%d日 %H:%M}",
        "expires_at": cmd.expires_at.isoformat(),
    }
    facts = Facts(cmd.campus, {"name": cmd.name}, member_id=cmd.member_id)
    event_type = EmailChangeRequested.type
    await dispatch(Dispatch(cause, event_type, facts, secret=secret), dispatcher)
    known = await contacts.get(cmd.member_id)
    if known is not None and known.email and known.email != cmd.to:
        told = Facts(
            cmd.campus,
            {"name": cmd.name, "masked_to": mask_email(cmd.to) or ""},
            member_id=cmd.member_id,
        )
        old = Dispatch(cause, event_type, told, template="email_changing", variant="old")
        await dispatch(old, dispatcher)


async def on_email_change_requested(
    event: EmailChangeRequested,
    envelope: CloudEvent,
    contacts: Contacts,
    dispatcher: Dispatcher,
    web_base_url: str,
    sealer: Sealer,
) -> None:
    """An integration event only maps to a command (the sealed part opened here)."""
    found = json.loads(sealer.open(event.sealed_for_notify))
    cmd = ConfirmEmail(
        member_id=event.member_id,
        campus=event.campus,
        name=event.name,
        to=found["to"],
        url=web_base_url.rstrip("/") + found["link_path"],
        expires_at=event.expires_at,
    )
    await confirm_email(cmd, envelope.id, contacts, dispatcher)

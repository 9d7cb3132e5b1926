"""Notice use cases, and the integration events that start them."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from services.notify.channels.email import Mailer
from services.notify.notices.contacts import Contact, Contacts
from services.notify.notices.domain import (
    ConfirmEmail,
    MailLoginLink,
    Notice,
    WelcomeMember,
    confirm_email_notice,
    email_changing_notice,
    login_link_notice,
    welcome_notice,
)
from services.notify.notices.store import Inbox
from shared.crypto import Box, Sealer, SealError
from shared.envelope import CloudEvent
from shared.events.members import (
    ContactChanged,
    ContactErased,
    EmailChangeRequested,
    LoginLinkRequestedV2,
    MemberJoinedV2,
)
from shared.text import mask_email
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

# A welcome whose member's e-mail arrives later than this is not mailed any more.
LATE_EMAIL = timedelta(days=7)


async def email(
    notice: Notice, contact: Contact | None, cause: str, inbox: Inbox, mailer: Mailer
) -> None:
    """Mail the notice if the member has an address and nobody mailed it yet.

    A failure raises: the consumer retries (or waits out an SMTP outage), then dead-letters;
    the claim stays with `cause`, whose replay sends it.
    """
    if contact is None or not contact.email:
        return
    if await inbox.claim_email(notice, cause):
        await mailer.send(contact.email, notice.title, notice.body)
        await inbox.record_sent(notice, contact.email)


async def welcome_member(
    cmd: WelcomeMember, cause: str, inbox: Inbox, contacts: Contacts, mailer: Mailer
) -> None:
    notice = welcome_notice(cmd)
    await inbox.put(notice)
    await email(notice, await contacts.get(cmd.member_id), cause, inbox, mailer)


async def on_member_joined(
    event: MemberJoinedV2, envelope: CloudEvent, inbox: Inbox, contacts: Contacts, mailer: Mailer
) -> None:
    """An integration event only maps to a command."""
    assert event.joined_on is not None
    cmd = WelcomeMember(
        member_id=event.member_id, name=event.name, campus=event.campus, joined_on=event.joined_on
    )
    await welcome_member(cmd, envelope.id, inbox, contacts, mailer)


async def on_contact_changed(
    event: ContactChanged, envelope: CloudEvent, inbox: Inbox, contacts: Contacts, mailer: Mailer
) -> None:
    """Remember the details; a welcome that had no address yet is mailed now.

    Every step can run again: a retry after the details were stored but the e-mail failed
    must still send it, so the e-mail uses the details as stored, not the apply's answer.
    """
    contact = Contact(
        member_id=event.member_id,
        name=event.name,
        campus=event.campus,
        phone=event.phone,
        email=event.email,
        wecom_userid=event.wecom_userid,
    )
    await contacts.apply(contact, envelope)  # ignored when older than what is stored
    welcome = await inbox.latest(event.member_id, "welcome", since=utcnow() - LATE_EMAIL)
    if welcome is not None:
        await email(welcome, await contacts.get(event.member_id), envelope.id, inbox, mailer)


async def on_contact_erased(event: ContactErased, envelope: CloudEvent, contacts: Contacts) -> None:
    """The member left: forget how to reach them."""
    await contacts.erase(event.member_id)


async def mail_login_link(
    cmd: MailLoginLink, cause: str, inbox: Inbox, contacts: Contacts, mailer: Mailer
) -> None:
    """Mail the link to the address notify knows for the member (members never sends it). A
    link that ran out while the message waited (an SMTP outage, a replay) is not mailed."""
    if cmd.expires_at <= utcnow():
        log.info("login link for %s expired before it could be mailed", cmd.member_id)
        return
    contact = await contacts.get(cmd.member_id)
    if contact is None or not contact.email:
        log.info("no e-mail address for %s: login link not mailed", cmd.member_id)
        return
    await email(login_link_notice(cmd, contact.name, cause), contact, cause, inbox, mailer)


async def on_login_link_requested(
    event: LoginLinkRequestedV2,
    envelope: CloudEvent,
    inbox: Inbox,
    contacts: Contacts,
    mailer: Mailer,
    web_base_url: str,
    box: Box,
) -> None:
    """The link arrives sealed for notify; it is opened here only to be mailed (never logged,
    never stored: the delivery records hold the notice id and the address, not the body)."""
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
    await mail_login_link(cmd, envelope.id, inbox, contacts, mailer)


async def confirm_email(
    cmd: ConfirmEmail, cause: str, inbox: Inbox, contacts: Contacts, mailer: Mailer
) -> None:
    """Mail the link to the new address and tell the old one (the address notify knows is
    the confirmed one: the pending address never reaches `members.contact`). A link that
    ran out while the message waited is not mailed."""
    if cmd.expires_at <= utcnow():
        log.info("e-mail confirmation for %s expired before it could be mailed", cmd.member_id)
        return
    known = await contacts.get(cmd.member_id)
    to_new = Contact(cmd.member_id, cmd.name, cmd.campus, None, cmd.to, None)
    await email(confirm_email_notice(cmd, cause), to_new, cause, inbox, mailer)
    if known is not None and known.email and known.email != cmd.to:
        notice = email_changing_notice(cmd, mask_email(cmd.to) or "", cause)
        await email(notice, known, cause, inbox, mailer)


async def on_email_change_requested(
    event: EmailChangeRequested,
    envelope: CloudEvent,
    inbox: Inbox,
    contacts: Contacts,
    mailer: Mailer,
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
    await confirm_email(cmd, envelope.id, inbox, contacts, mailer)

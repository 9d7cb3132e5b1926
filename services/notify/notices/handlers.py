"""Notice use cases, and the integration events that start them."""

from __future__ import annotations

from services.notify.channels.email import Mailer
from services.notify.notices.domain import WelcomeMember, welcome_notice
from services.notify.notices.store import Inbox
from shared.envelope import CloudEvent
from shared.events.members import MemberJoined


async def welcome_member(cmd: WelcomeMember, inbox: Inbox, mailer: Mailer) -> None:
    notice = welcome_notice(cmd)
    await inbox.put(notice)
    if notice.email and not await inbox.email_already_sent(notice):
        # A failure raises: the consumer retries (or waits out an SMTP outage), then
        # dead-letters; the inbox copy stays single either way.
        await mailer.send(notice.email, notice.title, notice.body)
        await inbox.record_email(notice, "sent")


async def on_member_joined(
    event: MemberJoined, envelope: CloudEvent, inbox: Inbox, mailer: Mailer
) -> None:
    """An integration event only maps to a command."""
    cmd = WelcomeMember(
        event_id=envelope.id,
        member_id=event.member_id,
        name=event.name,
        campus=event.campus,
        email=event.email,
        joined_on=event.joined_on,
    )
    await welcome_member(cmd, inbox, mailer)

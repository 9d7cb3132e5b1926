"""Notify's use cases, and the table routing incoming events to them."""

from __future__ import annotations

from typing import Protocol

from services.notify.domain import WelcomeMember, welcome_notice
from services.notify.store import Inbox
from shared.consumer import Routes, bind
from shared.envelope import CloudEvent
from shared.events.members import MemberJoined


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


async def welcome_member(cmd: WelcomeMember, inbox: Inbox, mailer: Mailer) -> None:
    notice = welcome_notice(cmd)
    await inbox.put(notice)
    if notice.email and not await inbox.email_already_sent(notice):
        # A failure raises: the consumer retries, then dead-letters; the inbox copy stays single.
        await mailer.send(notice.email, notice.title, notice.body)
        await inbox.record_email(notice, "sent")


async def on_member_joined(
    event: MemberJoined, envelope: CloudEvent, inbox: Inbox, mailer: Mailer
) -> None:
    cmd = WelcomeMember(
        event_id=envelope.id,
        member_id=event.member_id,
        name=event.name,
        campus=event.campus,
        email=event.email,
        joined_on=event.joined_on,
    )
    await welcome_member(cmd, inbox, mailer)


def routes(inbox: Inbox, mailer: Mailer) -> Routes:
    return {MemberJoined: [bind(on_member_joined, inbox, mailer)]}

"""Inbox channel (站内信): the message is stored in notify's own database, for its owner alone.

The dispatcher sends on it directly (an insert, idempotent by the notice id): nothing about
it can be down in a way a retry later would fix better than the handler's own retry.
"""

from __future__ import annotations

from services.notify.channels.base import Message
from services.notify.notices.domain import Notice
from services.notify.notices.store import Inbox
from services.notify.routing.domain import ChannelName


class InboxChannel:
    name = ChannelName.inbox

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def send(self, message: Message) -> None:
        notice = Notice(
            message.notice_id,
            message.member_id,
            message.campus,
            message.kind,
            message.title,
            message.text,
        )
        await self.inbox.put(notice)

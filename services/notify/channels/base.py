"""The `Channel` seam: one message to one person on one channel.

Four implementations: the inbox (站内信, notify's own database), e-mail over SMTP, WeCom
application messages and SMS (both through an HTTP adapter with a configurable base URL). A
channel says how a send failed, and the delivery worker decides what follows:

- `ChannelDown`: the service cannot be reached (connection refused, timeout). An outage, not
  this message's fault: the delivery waits and is tried again; it never counts as a failure.
- `ChannelRefused` (or any other error): this message was refused. It counts as a failed
  attempt; after N of them the delivery is failed, with the reason, for a cadre to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from services.notify.routing.domain import ChannelName


@dataclass(frozen=True)
class Message:
    notice_id: str  # `<event id>:<member id>`: the inbox message's id
    member_id: str
    campus: str
    kind: str  # the template key (welcome, registration_confirmed …)
    to: str  # the address on this channel (member id for the inbox)
    title: str
    text: str
    html: str


class ChannelDown(Exception):
    """The channel's service is unreachable: wait and try again (not a failed attempt)."""


class ChannelRefused(Exception):
    """The channel refused this message (a failed attempt)."""


class Channel(Protocol):
    name: ChannelName

    async def send(self, message: Message) -> None: ...

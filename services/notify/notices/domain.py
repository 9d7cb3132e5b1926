"""Notice commands (通知): what an integration event asks notify to do, without I/O.

The words are the routes' templates (`templates/defaults.py`); a `Notice` is one message in a
member's inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class WelcomeMember:
    """Command: greet a member who just joined the union."""

    member_id: str
    name: str
    campus: str
    joined_on: date


@dataclass(frozen=True)
class Notice:
    id: str
    member_id: str
    campus: str
    kind: str
    title: str
    body: str


@dataclass(frozen=True)
class MailLoginLink:
    """Command: mail a member the one-time login link they asked for."""

    member_id: str
    campus: str
    url: str
    expires_at: datetime  # UTC


@dataclass(frozen=True)
class ConfirmEmail:
    """Command: mail the confirmation link to a new address, and tell the old one."""

    member_id: str
    campus: str
    name: str
    to: str  # the new, pending address
    url: str
    expires_at: datetime  # UTC

"""Every event the notify service reacts to, in one table."""

from __future__ import annotations

from services.notify.channels.email import Mailer
from services.notify.notices.handlers import on_member_joined
from services.notify.notices.store import Inbox
from shared.events.members import MemberJoined
from shared.routing import Routes, on


def subscriptions(inbox: Inbox, mailer: Mailer) -> Routes:
    return [
        # Markers of this handler were named `on_member_joined:<event id>` before they
        # carried the module; they still count, so an upgrade welcomes nobody twice.
        on(MemberJoined, on_member_joined, inbox, mailer, legacy_name="on_member_joined"),
    ]

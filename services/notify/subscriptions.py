"""Every event the notify service reacts to, in one table."""

from __future__ import annotations

from services.notify.channels.email import Mailer
from services.notify.notices.contacts import Contacts
from services.notify.notices.handlers import (
    on_contact_changed,
    on_contact_erased,
    on_email_change_requested,
    on_login_link_requested,
    on_member_joined,
)
from services.notify.notices.store import Inbox
from shared.crypto import Box, Sealer
from shared.events.members import (
    ContactChanged,
    ContactErased,
    EmailChangeRequested,
    LoginLinkRequestedV2,
    MemberJoinedV2,
)
from shared.routing import Routes, on


def subscriptions(
    inbox: Inbox,
    contacts: Contacts,
    mailer: Mailer,
    web_base_url: str,
    box: Box,
    sealer: Sealer,
) -> Routes:
    return [
        on(MemberJoinedV2, on_member_joined, inbox, contacts, mailer),
        # members.contact: only notify reads it (phone, e-mail, WeCom id).
        on(ContactChanged, on_contact_changed, inbox, contacts, mailer),
        on(ContactErased, on_contact_erased, contacts),
        # members.account: only the login links (sealed for notify; mailed, never put in the
        # inbox). v1 carried the link in clear and is no longer published nor read.
        on(
            LoginLinkRequestedV2,
            on_login_link_requested,
            inbox,
            contacts,
            mailer,
            web_base_url,
            box,
        ),
        # members.account: a new e-mail to confirm (the link to it, the old address told).
        on(
            EmailChangeRequested,
            on_email_change_requested,
            inbox,
            contacts,
            mailer,
            web_base_url,
            sealer,
        ),
    ]

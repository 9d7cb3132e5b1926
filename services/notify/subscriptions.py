"""Every event the notify service reacts to, in one table."""

from __future__ import annotations

from services.notify.delivery.handlers import Dispatcher
from services.notify.notices.handlers import (
    on_contact_changed,
    on_contact_erased,
    on_email_change_requested,
    on_login_link_requested,
    on_member_joined,
    on_routed_event,
)
from services.notify.reminders.handlers import reminder_routes
from services.notify.reminders.store import Reminders
from services.notify.routing.audience import Registrations, registration_routes
from services.notify.routing.contacts import Contacts
from services.notify.routing.table import TABLE
from shared.crypto import Box, Sealer
from shared.events import IntegrationEvent
from shared.events.events import (
    RegistrationCancelled,
    RegistrationCheckedIn,
    RegistrationConfirmed,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.events.members import (
    ContactChanged,
    ContactErased,
    EmailChangeRequested,
    LoginLinkRequestedV2,
    MemberJoinedV2,
)
from shared.readmodels.member_directory import MemberDirectory, member_directory_routes
from shared.routing import Routes, on

# Routed events with a use case of their own (below); every other route is dispatched as is.
OWN_USE_CASE = {
    MemberJoinedV2.type,
    LoginLinkRequestedV2.type,
    EmailChangeRequested.type,
}


def subscriptions(
    dispatcher: Dispatcher,
    contacts: Contacts,
    directory: MemberDirectory,
    registrations: Registrations,
    web_base_url: str,
    box: Box,
    sealer: Sealer,
    reminders: Reminders,
) -> Routes:
    return [
        # Notify's projections: members (audiences), contacts (addresses), registrations.
        *member_directory_routes(directory),
        *registration_routes(
            registrations,
            [
                RegistrationConfirmed,
                RegistrationWaitlisted,
                RegistrationPromoted,
                RegistrationCancelled,
                RegistrationCheckedIn,
            ],
        ),
        # members.contact: only notify reads it (phone, e-mail, WeCom id).
        on(ContactChanged, on_contact_changed, contacts, dispatcher),
        on(ContactErased, on_contact_erased, contacts),
        on(MemberJoinedV2, on_member_joined, dispatcher),
        # members.account: only the login links (sealed for notify; mailed, never put in the
        # inbox). v1 carried the link in clear and is no longer published nor read.
        on(LoginLinkRequestedV2, on_login_link_requested, dispatcher, web_base_url, box),
        # members.account: a new e-mail to confirm (the link to it, the old address told).
        on(
            EmailChangeRequested,
            on_email_change_requested,
            contacts,
            dispatcher,
            web_base_url,
            sealer,
        ),
        # Reminders' schedules: activities, festival plans and entitlements, exam bookings.
        *reminder_routes(reminders),
        # Every other route of the routing table (the security notices among them: their
        # facts are given the envelope's time like every route's).
        *(
            on(route.event, on_routed_event, dispatcher)
            for route in TABLE.routes.values()
            if route.event_type not in OWN_USE_CASE and issubclass(route.event, IntegrationEvent)
        ),
    ]

"""Every event the events service reacts to, in one table.

Order matters where two handlers share an event: the member directory applies a member's
event before the registrations hear of it (a transfer is judged on the new campus).
"""

from __future__ import annotations

from services.events.registrations.handlers import (
    Registrations,
    on_activity_cancelled,
    on_activity_changed,
    on_activity_published,
    on_member_deceased,
    on_member_transferred,
    on_member_withdrawn,
    on_registration_event,
)
from shared.events.events import ActivityCancelled, ActivityChanged, ActivityPublished
from shared.events.members import MemberDeceased, MemberTransferred, MemberWithdrawn
from shared.readmodels.member_directory import MemberDirectory, member_directory_routes
from shared.routing import Routes, on, on_topic


def subscriptions(directory: MemberDirectory, registrations: Registrations) -> Routes:
    return [
        *member_directory_routes(directory),
        # A member who leaves loses their future registrations; the waitlist moves up.
        on(MemberWithdrawn, on_member_withdrawn, registrations),
        on(MemberDeceased, on_member_deceased, registrations),
        on(MemberTransferred, on_member_transferred, registrations),
        # The activity's promoter: keyed by activity, one consumer per activity at a time.
        on_topic("events.registration", on_registration_event, registrations, idempotent=True),
        on(ActivityChanged, on_activity_changed, registrations),
        on(ActivityPublished, on_activity_published, registrations),
        on(ActivityCancelled, on_activity_cancelled, registrations),
    ]

"""Attendance reads: registrations of many activities at once (for the statistics)."""

from __future__ import annotations

from services.events.registrations.domain import Registration
from services.events.registrations.store import RegistrationBook


async def registrations_of(book: RegistrationBook, activity_ids: list[str]) -> list[Registration]:
    """Every registration of the given activities (each an equality query FerretDB indexes)."""
    found: list[Registration] = []
    for activity_id in activity_ids:
        found.extend(await book.all_of_activity(activity_id))
    return found

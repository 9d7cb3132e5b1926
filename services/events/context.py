"""What the events service's routes use, built once by the composition root (bootstrap.py)
and handed out per route by `shared.runtime.provided` (see deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from services.events.activities.store import ActivityCatalog
from services.events.plans.store import PlanBook
from services.events.registrations.handlers import Registrations
from services.events.sports.store import MeetBook
from services.events.suggestions.handlers import Box
from services.events.surveys.handlers import Surveys
from shared.audit import AuditLog
from shared.readmodels.member_directory import MemberDirectory


@dataclass(frozen=True)
class EventsContext:
    catalog: ActivityCatalog
    registrations: Registrations
    directory: MemberDirectory
    audit: AuditLog
    plans: PlanBook
    meets: MeetBook
    calendar_secret: bytes
    calendar_base_url: str
    # members' voice
    surveys: Surveys
    suggestions: Box

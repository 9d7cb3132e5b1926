"""Typed FastAPI dependencies of the events service: what its routes may ask for.

Every service's deps module has the same shape: one frozen `EventsContext` that the composition
root (services/events/bootstrap.py) builds once at start, `get_context` to reach it from a request,
one `async def get_…` per part (FastAPI runs a plain `def` dependency in a worker thread, a hop per
request), and the `Annotated` names the routes use: the parts, then who may call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.events.activities.store import ActivityCatalog
from services.events.plans.store import PlanBook
from services.events.registrations.handlers import Registrations
from services.events.sports.store import MeetBook
from shared.audit import AuditLog
from shared.auth import Principal, Role, require
from shared.projections import MemberDirectory


@dataclass(frozen=True)
class EventsContext:
    """Everything the routes use, built once by the composition root."""

    catalog: ActivityCatalog
    registrations: Registrations
    directory: MemberDirectory
    audit: AuditLog
    plans: PlanBook
    meets: MeetBook
    calendar_secret: bytes
    calendar_base_url: str


def get_context(request: Request) -> EventsContext:
    return request.app.state.runtime.context


async def get_catalog(request: Request) -> ActivityCatalog:
    return get_context(request).catalog


async def get_registrations(request: Request) -> Registrations:
    return get_context(request).registrations


async def get_plans(request: Request) -> PlanBook:
    return get_context(request).plans


async def get_meets(request: Request) -> MeetBook:
    return get_context(request).meets


async def get_directory(request: Request) -> MemberDirectory:
    return get_context(request).directory


async def get_audit(request: Request) -> AuditLog:
    return get_context(request).audit


Catalog = Annotated[ActivityCatalog, Depends(get_catalog)]
RegistrationsDep = Annotated[Registrations, Depends(get_registrations)]
Audit = Annotated[AuditLog, Depends(get_audit)]
Plans = Annotated[PlanBook, Depends(get_plans)]
Meets = Annotated[MeetBook, Depends(get_meets)]
Directory = Annotated[MemberDirectory, Depends(get_directory)]
Cadre = Annotated[Principal, Depends(require(Role.cadre))]
Admin = Annotated[Principal, Depends(require(Role.admin))]

"""Where reminders live (notify's own database), so they survive restarts.

- `reminder_schedules`: one document per reminder of a subject (`domain.Schedule`), written
  from the subject's events by the consumer that owns its partition, newest event wins.
- `reminder_entitlements`: who has chosen a festival gift (created / chosen / voided).
- `reminder_fired`: a unique-key insert per fired occasion, after its deliveries are in. It
  only spares the next run the work: what makes a reminder reach a person once is the unique
  key of each delivery (reminder id, recipient, channel), however many replicas run it.
- Registrations are the routing projection's (`routing/audience.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.reminders.domain import Schedule
from services.notify.routing.audience import REGISTRATIONS
from shared.claims import claim_once
from shared.readmodels.newest import apply_if_newer

SCHEDULES = "reminder_schedules"
ENTITLEMENTS = "reminder_entitlements"
FIRED = "reminder_fired"


class Reminders:
    def __init__(self, db: AsyncDatabase) -> None:
        self.schedules = db[SCHEDULES]
        self.entitlements = db[ENTITLEMENTS]
        self.fired = db[FIRED]
        self.registrations = db[REGISTRATIONS]

    async def setup_indexes(self) -> None:
        await self.schedules.create_index([("active", 1), ("fire_at", 1)])
        await self.entitlements.create_index("plan_id")

    async def keep(self, schedule: Schedule, sequence: str | None) -> None:
        """The schedule as its subject's newest event says (moved, cancelled …)."""
        await apply_if_newer(self.schedules, schedule.id, sequence, schedule.doc())

    async def stop(self, schedule_id: str, sequence: str | None) -> None:
        await apply_if_newer(self.schedules, schedule_id, sequence, {"active": False})

    async def entitlement(self, entitlement_id: str, sequence: str | None, **fields: Any) -> None:
        await apply_if_newer(self.entitlements, entitlement_id, sequence, fields)

    async def due(self, now: datetime) -> list[dict[str, Any]]:
        """Active schedules whose time has come and whose occasion has not passed."""
        query = {"active": True, "fire_at": {"$lte": now}, "until": {"$gt": now}}
        return await self.schedules.find(query).to_list()

    async def was_fired(self, key: str) -> bool:
        return await self.fired.find_one({"_id": key}, {"_id": 1}) is not None

    async def mark_fired(self, key: str, created: int) -> None:
        await claim_once(self.fired, key, {"deliveries": created})

    async def registrations_of(self, activity_id: str) -> list[dict[str, Any]]:
        return await self.registrations.find({"activity_id": activity_id}).to_list()

    async def entitlements_of(self, plan_id: str) -> list[dict[str, Any]]:
        return await self.entitlements.find({"plan_id": plan_id}).to_list()

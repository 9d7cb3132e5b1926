"""Who a route reaches, from notify's own projections (never another service's database).

- Members (campus, department, gender, roles, status, small group, birth year) from
  `members.member`: the shared member directory (`shared.readmodels.member_directory`).
- Contacts from `members.contact` (`routing/contacts.py`).
- Registrations from `events.registration`, per activity: who is registered.
- The audience of an activity or a survey travels in its own events (its eligibility rule),
  applied to the member directory when the event is routed.

Each projection applies an event only if it is newer than what it holds
(`shared.readmodels.newest.apply_if_newer`), so redeliveries and replays never roll back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.notify.routing.domain import Audience, Facts
from shared.envelope import CloudEvent
from shared.events.events import RegistrationCancelled, RegistrationFacts
from shared.mongo import find_by_ids
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.readmodels.newest import apply_if_newer
from shared.routing import Routes, on
from shared.timeutil import local_today

REGISTRATIONS = "registrations"
CADRE_ROLES = ["chair", "vice_chair", "committee"]
REACHABLE = ["active", "retired"]  # withdrawn, deceased, applied … are never messaged


@dataclass(frozen=True)
class Recipient:
    member_id: str
    name: str
    campus: str


class Registrations:
    """Who is registered for an activity (confirmed, waitlisted or cancelled, and why)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.coll = db[REGISTRATIONS]

    async def apply(self, event: RegistrationFacts, envelope: CloudEvent) -> None:
        reason = event.reason if isinstance(event, RegistrationCancelled) else None
        fields = {
            "activity_id": event.activity_id,
            "member_id": event.member_id,
            "status": event.status,
            "reason": reason,
        }
        await apply_if_newer(self.coll, event.registration_id, envelope.sequence, fields)

    async def registrants(self, activity_id: str) -> list[str]:
        """Members registered for the activity until the activity itself was cancelled."""
        docs = await self.coll.find({"activity_id": activity_id}).to_list()
        return sorted(
            {
                d["member_id"]
                for d in docs
                if d["status"] in ("confirmed", "waitlisted")
                or d.get("reason") == "activity_cancelled"
            }
        )


async def on_registration(
    event: RegistrationFacts, envelope: CloudEvent, registrations: Registrations
) -> None:
    await registrations.apply(event, envelope)


def registration_routes(
    registrations: Registrations, events: list[type[RegistrationFacts]]
) -> Routes:
    return [on(e, on_registration, registrations) for e in events]


def eligible(doc: Mapping[str, Any], rule: Mapping[str, Any], campus: str, year: int) -> bool:
    """Whether a member (a directory document) is in an activity's audience (pure)."""
    campuses = rule.get("campuses") or ([] if campus == "*" else [campus])
    if campuses and doc.get("campus") not in campuses:
        return False
    if rule.get("departments") and doc.get("department") not in rule["departments"]:
        return False
    if rule.get("gender") and doc.get("gender") != rule["gender"]:
        return False
    if doc.get("status") not in (rule.get("statuses") or ["active"]):
        return False
    if rule.get("roles") and not set(doc.get("roles") or []) & set(rule["roles"]):
        return False
    if rule.get("small_groups") and doc.get("small_group") not in rule["small_groups"]:
        return False
    born = doc.get("birth_year")
    if rule.get("age_min") is not None and (born is None or year - born < rule["age_min"]):
        return False
    return not (rule.get("age_max") is not None and (born is None or year - born > rule["age_max"]))


class Audiences:
    def __init__(self, db: AsyncDatabase, registrations: Registrations) -> None:
        self.directory = db[MEMBER_DIRECTORY]
        self.registrations = registrations

    async def resolve(self, audience: Audience, facts: Facts) -> list[Recipient]:
        if audience in (Audience.member, Audience.address):
            assert facts.member_id is not None
            return await self._members([facts.member_id], reachable_only=False)
        if audience is Audience.listed:
            return await self._members(sorted(set(facts.member_ids or ())))
        if audience is Audience.activity_registrants:
            assert facts.activity_id is not None
            return await self._members(await self.registrations.registrants(facts.activity_id))
        if audience in (
            Audience.activity_audience,
            Audience.survey_audience,
            Audience.campus_members,  # no rule: every active member of the campus (or school)
        ):
            rule = facts.eligibility or {}
            query: dict[str, Any] = {"status": {"$in": list(rule.get("statuses") or ["active"])}}
            if facts.campus != "*" and not rule.get("campuses"):
                query["campus"] = facts.campus
            year = local_today().year
            docs = await self.directory.find(query).to_list()
            return [_recipient(d) for d in docs if eligible(d, rule, facts.campus, year)]
        roles = ["finance"] if audience is Audience.finance else CADRE_ROLES
        docs = await self.directory.find({"campus": facts.campus}).to_list()
        return [
            _recipient(d)
            for d in docs
            if d.get("status") in REACHABLE and set(d.get("roles") or []) & set(roles)
        ]

    async def _members(self, ids: list[str], reachable_only: bool = True) -> list[Recipient]:
        if not ids:
            return []
        docs = await find_by_ids(self.directory, ids)
        found = []
        for member_id in ids:
            doc = docs.get(member_id)
            if doc is None:
                # Not (yet) in the directory: the member the event is about is still told.
                if not reachable_only:
                    found.append(Recipient(member_id, "", ""))
                continue
            if reachable_only and doc.get("status") not in REACHABLE:
                continue
            found.append(_recipient(doc))
        return found


def _recipient(doc: Mapping[str, Any]) -> Recipient:
    return Recipient(doc["_id"], doc.get("name") or "", doc.get("campus") or "")

"""Reminders (提醒), pure: when each is due, under which id it fires, and who gets it.

A *schedule* is one reminder of one subject (an activity's 24-hour reminder, a plan's
gift-choice deadline, a booking's exam-eve reminder), kept by notify from the events it
consumes. It is due from `fire_at` until its occasion (`until`): a reminder whose occasion has
passed is never sent late. It fires under an id made of the schedule and its occasion, so an
activity moved to another time fires again for the new time, and never twice for one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from services.notify.routing.domain import Reminder
from services.notify.routing.reminders import (
    ActivityInAnHour,
    ActivityTomorrow,
    ExamTomorrow,
    GiftChoiceDue,
)
from shared.timeutil import SHANGHAI

# What an activity's status must be for its registrants to be reminded.
REMINDED_ACTIVITY = ("published", "registration_closed")
DAY_BEFORE = timedelta(hours=24)
HOUR_BEFORE = timedelta(hours=1)
GIFT_LEAD = timedelta(hours=24)  # before a festival plan's choice deadline
EXAM_EVE = time(17, 0)  # the day before the exam, Asia/Shanghai


@dataclass(frozen=True)
class Schedule:
    """One reminder of one subject: due from `fire_at` until `until` while active."""

    kind: str  # a Reminder type
    subject: str  # the activity, plan or booking
    campus: str
    fire_at: datetime
    until: datetime
    active: bool
    values: Mapping[str, Any]

    @property
    def id(self) -> str:
        return schedule_id(self.kind, self.subject)

    def doc(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "campus": self.campus,
            "fire_at": self.fire_at,
            "until": self.until,
            "active": self.active,
            "values": dict(self.values),
        }


def schedule_id(kind: str, subject: str) -> str:
    return f"{kind.removeprefix('notify.reminder.')}:{subject}"


def activity_schedules(
    activity_id: str,
    campus: str,
    status: str,
    title: str,
    venue: str,
    starts_at: datetime,
) -> list[Schedule]:
    """An activity's two reminders: from 24 hours before until the last hour (then the hour
    reminder takes over), and in its last hour. Cancelled or over: none active."""
    active = status in REMINDED_ACTIVITY
    values = {"title": title, "venue": venue, "starts_at": starts_at}
    return [
        Schedule(
            ActivityTomorrow.type,
            activity_id,
            campus,
            starts_at - DAY_BEFORE,
            starts_at - HOUR_BEFORE,
            active,
            values,
        ),
        Schedule(
            ActivityInAnHour.type,
            activity_id,
            campus,
            starts_at - HOUR_BEFORE,
            starts_at,
            active,
            values,
        ),
    ]


def gift_schedule(
    plan_id: str, campus: str, festival: str, year: int, deadline: datetime, active: bool = True
) -> Schedule:
    values = {"festival": festival, "year": year, "deadline": deadline}
    return Schedule(
        GiftChoiceDue.type, plan_id, campus, deadline - GIFT_LEAD, deadline, active, values
    )


def exam_schedule(booking_id: str, member_id: str, campus: str, day: date) -> Schedule:
    """The evening before the exam (17:00 Beijing time) until the day begins."""
    eve = datetime.combine(day - timedelta(days=1), EXAM_EVE, SHANGHAI)
    starts = datetime.combine(day, time(0, 0), SHANGHAI)
    values = {"member_id": member_id, "day": day.isoformat()}
    return Schedule(ExamTomorrow.type, booking_id, campus, eve, starts, True, values)


def is_due(fire_at: datetime, until: datetime, active: bool, now: datetime) -> bool:
    return active and fire_at <= now < until


def fire_key(schedule_id: str, until: datetime) -> str:
    """The id a schedule fires under: one per occasion (a moved activity is a new one)."""
    return f"reminder:{schedule_id}@{until.astimezone(SHANGHAI):%Y%m%dT%H%M}"


def confirmed(registrations: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Who an activity reminder reaches: confirmed registrations only (not the waitlist, not
    the cancelled)."""
    return tuple(sorted({r["member_id"] for r in registrations if r.get("status") == "confirmed"}))


def unchosen(entitlements: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Who a gift-choice reminder reaches: entitlements created and not yet chosen (nor
    voided)."""
    return tuple(sorted({e["member_id"] for e in entitlements if e.get("state") == "created"}))


def reminder_of(
    kind: str,
    subject: str,
    campus: str,
    until: datetime,
    values: Mapping[str, Any],
    member_ids: tuple[str, ...],
) -> Reminder:
    """The reminder a due schedule sends (`member_ids`: whom, for the listed kinds)."""
    rid = fire_key(schedule_id(kind, subject), until)
    if kind in (ActivityTomorrow.type, ActivityInAnHour.type):
        cls = ActivityTomorrow if kind == ActivityTomorrow.type else ActivityInAnHour
        return cls(rid, campus, member_ids, values["title"], values["venue"], values["starts_at"])
    if kind == GiftChoiceDue.type:
        return GiftChoiceDue(
            rid, campus, member_ids, values["festival"], values["year"], values["deadline"]
        )
    if kind == ExamTomorrow.type:
        return ExamTomorrow(rid, campus, values["member_id"], date.fromisoformat(values["day"]))
    raise ValueError(f"unknown reminder {kind}")

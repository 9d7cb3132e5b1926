"""Reminder use cases: keep the schedules from the events notify consumes, and send the due
ones (a scheduler job: once per slot across replicas, `shared/scheduler.py`).

A due reminder goes through the same dispatch as an event (`delivery/handlers.py`), with its
fire key as the event id: one delivery per (reminder, recipient, channel) by a unique-key
insert, so two replicas running the same reminder — a lease run out, a slow run overlapping
the next slot — still reach each person once on each channel.
"""

from __future__ import annotations

import logging

from services.notify.delivery.handlers import Dispatch, Dispatcher, dispatch
from services.notify.reminders.domain import (
    ActivityInAnHour,
    ActivityTomorrow,
    ExamTomorrow,
    GiftChoiceDue,
    activity_schedules,
    confirmed,
    exam_schedule,
    fire_key,
    gift_schedule,
    reminder_of,
    schedule_id,
    unchosen,
)
from services.notify.reminders.store import Reminders
from services.notify.routing.domain import RoutingTable
from shared.envelope import CloudEvent
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityCompleted,
    ActivityFacts,
    ActivityPublished,
    ActivityRegistrationClosed,
)
from shared.events.welfare_exams import ExamBooked, ExamCancelled
from shared.events.welfare_plans import (
    EntitlementChosen,
    EntitlementCreated,
    EntitlementVoided,
    PlanClosed,
    PlanPublished,
)
from shared.routing import Routes, on
from shared.scheduler import JobRun

log = logging.getLogger(__name__)

ENTITLEMENT_STATE = {
    EntitlementCreated.type: "created",
    EntitlementChosen.type: "chosen",
    EntitlementVoided.type: "voided",
}


async def on_activity(event: ActivityFacts, envelope: CloudEvent, reminders: Reminders) -> None:
    """Published, moved, closed for sign-up, cancelled or over: its two reminders follow."""
    for schedule in activity_schedules(
        event.activity_id, event.campus, event.status, event.title, event.venue, event.starts_at
    ):
        await reminders.keep(schedule, envelope.sequence)


async def on_plan_published(
    event: PlanPublished, envelope: CloudEvent, reminders: Reminders
) -> None:
    schedule = gift_schedule(
        event.plan_id, event.campus, event.festival, event.year, event.deadline
    )
    await reminders.keep(schedule, envelope.sequence)


async def on_plan_closed(event: PlanClosed, envelope: CloudEvent, reminders: Reminders) -> None:
    await reminders.stop(schedule_id(GiftChoiceDue.type, event.plan_id), envelope.sequence)


async def on_entitlement(
    event: EntitlementCreated | EntitlementChosen | EntitlementVoided,
    envelope: CloudEvent,
    reminders: Reminders,
) -> None:
    await reminders.entitlement(
        event.entitlement_id,
        envelope.sequence,
        plan_id=event.plan_id,
        member_id=event.member_id,
        state=ENTITLEMENT_STATE[event.type],
    )


async def on_exam_booked(event: ExamBooked, envelope: CloudEvent, reminders: Reminders) -> None:
    """Booked or moved: the reminder is for the day booked now."""
    schedule = exam_schedule(event.booking_id, event.member_id, event.campus, event.day)
    await reminders.keep(schedule, envelope.sequence)


async def on_exam_cancelled(
    event: ExamCancelled, envelope: CloudEvent, reminders: Reminders
) -> None:
    await reminders.stop(schedule_id(ExamTomorrow.type, event.booking_id), envelope.sequence)


def reminder_routes(reminders: Reminders) -> Routes:
    return [
        *(
            on(e, on_activity, reminders)
            for e in (
                ActivityPublished,
                ActivityChanged,
                ActivityRegistrationClosed,
                ActivityCancelled,
                ActivityCompleted,
            )
        ),
        on(PlanPublished, on_plan_published, reminders),
        on(PlanClosed, on_plan_closed, reminders),
        *(
            on(e, on_entitlement, reminders)
            for e in (EntitlementCreated, EntitlementChosen, EntitlementVoided)
        ),
        on(ExamBooked, on_exam_booked, reminders),
        on(ExamCancelled, on_exam_cancelled, reminders),
    ]


async def send_due_reminders(
    reminders: Reminders, dispatcher: Dispatcher, table: RoutingTable, run: JobRun
) -> int:
    """Send every reminder due at `run.now` not sent yet; the deliveries created."""
    created = 0
    for doc in await reminders.due(run.now):
        key = fire_key(doc["_id"], doc["until"])
        if await reminders.was_fired(key):
            continue
        members: tuple[str, ...] = ()
        if doc["kind"] in (ActivityTomorrow.type, ActivityInAnHour.type):
            members = confirmed(await reminders.registrations_of(doc["subject"]))
        elif doc["kind"] == GiftChoiceDue.type:
            members = unchosen(await reminders.entitlements_of(doc["subject"]))
        reminder = reminder_of(
            doc["kind"], doc["subject"], doc["campus"], doc["until"], doc["values"], members
        )
        route = table.route(reminder.type)
        facts = route.facts(reminder, run.now)
        sent = await dispatch(Dispatch(reminder.reminder_id, reminder.type, facts), dispatcher)
        await reminders.mark_fired(key, sent)
        created += sent
        log.info("reminder %s: %d deliveries", key, sent)
    return created


async def reminders_job(
    reminders: Reminders, dispatcher: Dispatcher, table: RoutingTable, run: JobRun
) -> None:
    """The scheduler's job (`notify.reminders`, every `reminder_every_s`)."""
    await send_due_reminders(reminders, dispatcher, table, run)

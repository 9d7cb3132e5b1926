"""提醒未预约者: a cadre has welfare ask notify to remind the campus's members who may book
and have not, once per plan and Beijing day.

Why a claim per plan and day rather than a deterministic event id: the reminder's document
(`<plan>@<day>`, store.py) is inserted with the event riding in it, so the one insert that wins
is also the one publication — there is no moment where the day is claimed and the event not
yet written (a crash between two writes), and a press later that day reads what was sent
and when instead of sending it again. Notify's own key (event id, recipient, channel) then
keeps a redelivered event to one message per member and channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.welfare.exams.domain import ExamPlan
from services.welfare.exams.handlers import Exams, statistics
from shared.auth import Principal, Role
from shared.errors import Conflict
from shared.events.welfare_exams import ExamBookingReminderRequested
from shared.timeutil import local_today


def reminder_id_of(plan_id: str, day: date) -> str:
    return f"{plan_id}@{day.isoformat()}"


def last_bookable_day(plan: ExamPlan, today: date) -> date:
    """The plan's last slot day, when a slot is still ahead (today counts); 409 when every
    slot is past: nobody could book any more, so there is nothing to remind them of."""
    last = max((s.day for s in plan.slots), default=None)
    if last is None or last < today:
        raise Conflict("exam.booking_over", "本年度体检的时段均已过，无法再预约，不必提醒")
    return last


@dataclass(frozen=True)
class Reminded:
    day: date
    members: int  # how many members the day's reminder named
    at: datetime  # when it was asked for
    sent_now: bool  # False: asked for earlier that day, not sent again


async def remind_not_booked(exams: Exams, user: Principal, plan: ExamPlan) -> Reminded:
    """Remind who has not booked (the statistics' not-booked list), once a day; role: cadre of
    the plan's campus. 409 when every slot is past or everybody has booked."""
    user.require(Role.cadre, campus=plan.campus)
    today = local_today()
    reminder_id = reminder_id_of(plan.id, today)
    before = await exams.book.reminder(reminder_id)
    if before is not None:
        return Reminded(today, before["members"], before["at"], sent_now=False)
    last = last_bookable_day(plan, today)
    waiting = (await statistics(exams, user, plan)).not_booked
    if not waiting:
        raise Conflict("exam.nobody_to_remind", "应检会员均已预约，无须提醒")
    event = ExamBookingReminderRequested(
        plan_id=plan.id,
        campus=plan.campus,
        year=plan.year,
        title=plan.title,
        requested_on=today,
        last_day=last,
        member_ids=[p["_id"] for p in waiting],
    )
    doc, sent_now = await exams.book.remind(reminder_id, event, user.subject)
    return Reminded(today, doc["members"], doc["at"], sent_now)

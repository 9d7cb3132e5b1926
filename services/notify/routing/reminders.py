"""The reminders notify sends on its own clock: routed like events (routing/table.py
`REMINDER_ROUTES`), never published. Their schedules and rules are in `reminders/`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar

from services.notify.routing.domain import Reminder


@dataclass(frozen=True)
class ActivityTomorrow(Reminder):
    type: ClassVar[str] = "notify.reminder.activity_24h"
    summary: ClassVar[str] = "活动开始前24小时提醒（报名确认者）"

    member_ids: tuple[str, ...]
    title: str
    venue: str
    starts_at: datetime


@dataclass(frozen=True)
class ActivityInAnHour(ActivityTomorrow):
    type: ClassVar[str] = "notify.reminder.activity_1h"
    summary: ClassVar[str] = "活动开始前1小时提醒（报名确认者）"


@dataclass(frozen=True)
class GiftChoiceDue(Reminder):
    type: ClassVar[str] = "notify.reminder.gift_choice_deadline"
    summary: ClassVar[str] = "节日福利选择截止前24小时提醒（尚未选择者）"

    member_ids: tuple[str, ...]
    festival: str
    year: int
    deadline: datetime


@dataclass(frozen=True)
class ExamTomorrow(Reminder):
    type: ClassVar[str] = "notify.reminder.exam_tomorrow"
    summary: ClassVar[str] = "体检前一天提醒（预约人）"

    member_id: str
    day: date


KINDS = (ActivityTomorrow, ActivityInAnHour, GiftChoiceDue, ExamTomorrow)

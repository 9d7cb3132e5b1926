"""The calendar feed (日历订阅): an iCalendar document of a campus's plan and activities.

Phones subscribe to a URL and poll it, without signing in, so the URL itself is the secret:
its token is an HMAC of the campus under the service's calendar secret — unguessable, the
same on every replica and after every restart, and all feeds change when the secret does.

What a calendar needs to show updates: a UID that never changes for the same thing (the
activity's id; the plan item's plan and item), a SEQUENCE that grows with every change (the
activity's version; the item's own revision), LAST-MODIFIED, and STATUS:CANCELLED for a
cancelled activity or item, which a calendar strikes out rather than keeps. Activity times are
written in Asia/Shanghai with the VTIMEZONE that defines it; plan items are all-day spans
from the first of their first month to the end of their last.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import icalendar

from services.events.activities.domain import Activity, ActivityStatus
from services.events.plans.domain import ItemStatus, Plan, PlanItem, month_span
from shared.timeutil import SHANGHAI, utcnow

PRODID = "-//Gonghui 工会//events calendar//ZH"
UID_DOMAIN = "gonghui.events"
TOKEN_TEXT = r"^[0-9a-f]{32}$"
# Activities that were shown to members: a draft never was.
SHOWN = frozenset(
    {
        ActivityStatus.published,
        ActivityStatus.registration_closed,
        ActivityStatus.completed,
        ActivityStatus.cancelled,
    }
)


def feed_token(secret: bytes, campus: str) -> str:
    """The feed token of a campus (`*`: the school-wide feed): 128 bits of HMAC-SHA256."""
    digest = hmac.new(secret, f"gonghui-calendar:{campus}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def token_matches(secret: bytes, campus: str, token: str) -> bool:
    return hmac.compare_digest(feed_token(secret, campus), token)


@dataclass(frozen=True)
class ShownActivity:
    activity: Activity
    modified: datetime  # when its latest change was written (UTC)


def calendar_name(campus: str) -> str:
    return "工会活动与工作计划（全校）" if campus == "*" else f"工会活动与工作计划（{campus}）"


def feed(
    campus: str,
    plans: Iterable[Plan],
    activities: Sequence[ShownActivity],
    now: datetime | None = None,
) -> bytes:
    """The iCalendar document (RFC 5545) of a campus's plans and shown activities."""
    now = now or utcnow()
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", calendar_name(campus))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for plan in plans:
        for item in sorted(plan.items, key=lambda i: (i.month_from, i.id)):
            cal.add_component(_plan_item(plan, item, now))
    for shown in activities:
        if shown.activity.status in SHOWN:
            cal.add_component(_activity(shown, now))
    cal.add_missing_timezones(first_date=date(2000, 1, 1), last_date=date(2101, 1, 1))
    return cal.to_ical()


def _plan_item(plan: Plan, item: PlanItem, now: datetime) -> icalendar.Event:
    first, after = month_span(plan.year, item)
    event = icalendar.Event()
    event.add("uid", f"{plan.id}-{item.id}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", first)
    event.add("dtend", after)
    event.add("summary", f"【工作要点】{item.title}")
    lines = [f"{plan.title}，{item.months()}", f"进度：{item.status.label}"]
    if item.owner:
        lines.append(f"负责人：{item.owner}")
    if item.detail:
        lines.append(item.detail)
    event.add("description", "\n".join(lines))
    event.add("sequence", item.revision)
    if item.changed_at is not None:
        event.add("last-modified", item.changed_at)
    event.add("transp", "TRANSPARENT")  # a month of work does not make anyone busy
    event.add("categories", ["工作计划"])
    event.add("status", "CANCELLED" if item.status is ItemStatus.cancelled else "CONFIRMED")
    return event


def _activity(shown: ShownActivity, now: datetime) -> icalendar.Event:
    activity = shown.activity
    event = icalendar.Event()
    event.add("uid", f"{activity.id}@{UID_DOMAIN}")
    event.add("dtstamp", now)
    event.add("dtstart", activity.starts_at.astimezone(SHANGHAI))
    event.add("dtend", activity.ends_at.astimezone(SHANGHAI))
    event.add("summary", activity.title)
    event.add("location", activity.venue)
    lines = [f"活动类型：{activity.kind.label}"]
    if activity.description:
        lines.append(activity.description)
    if activity.status is ActivityStatus.cancelled and activity.cancel_reason:
        lines.append(f"活动已取消：{activity.cancel_reason}")
    event.add("description", "\n".join(lines))
    event.add("sequence", activity.version)
    event.add("last-modified", shown.modified)
    event.add("categories", [activity.kind.label])
    cancelled = activity.status is ActivityStatus.cancelled
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event

"""Time is stored in UTC; business dates are local dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today(now: datetime | None = None) -> date:
    """Today's date for the school (a member joining at 01:00 Beijing time joins 'today')."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def as_local(moment: datetime) -> datetime:
    """For showing a stored UTC time to people."""
    return moment.astimezone(SHANGHAI)

"""Time is stored in UTC; business dates are local dates in Asia/Shanghai."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today(now: datetime | None = None) -> date:
    """Today's date for the school (a member joining at 01:00 Beijing time joins 'today')."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def as_local(moment: datetime) -> datetime:
    """For showing a stored UTC time to people."""
    return moment.astimezone(SHANGHAI)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float):  # bool is an int too
        raise ValueError("a date is written YYYY-MM-DD")
    if isinstance(value, str) and not _ISO_DAY.match(value):  # "0" in a query string
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# A calendar date in a request: only "YYYY-MM-DD" (or a date), as the schema says; pydantic
# would otherwise also take a number, or a string of digits, as seconds since 1970.
Day = Annotated[date, BeforeValidator(_not_a_number)]

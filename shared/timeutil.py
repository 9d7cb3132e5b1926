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


def utcnow_ms() -> datetime:
    """Now as MongoDB keeps it (milliseconds): an answer shows what a later read shows."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


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


_ISO_MOMENT = re.compile(r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_moment(value: object) -> object:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_MOMENT.match(value):
        raise ValueError("a moment is written YYYY-MM-DDTHH:MM[:SS][+08:00]")
    return value


# A moment in a request ("2026-04-18T08:30", "2026-04-18T08:30:00+08:00"): a time without an
# offset is Beijing time, as people write it. Only that form: pydantic would also take a
# number (seconds since 1970) or a bare date. Converted to UTC by `to_utc` for storing.
Moment = Annotated[datetime, BeforeValidator(_iso_moment)]


def to_utc(moment: datetime) -> datetime:
    """A request's moment as stored: UTC, whole seconds; a naive one is Asia/Shanghai."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC).replace(microsecond=0)


def in_range(moment: datetime, first_year: int = 2000, last_year: int = 2100) -> bool:
    """Whether a moment is within the years a union's calendar can mean (and convert safely:
    year 1 at +08:00 is before the first representable UTC moment)."""
    return first_year <= moment.year <= last_year

"""Pure attendance rules (出勤统计): counts per activity, campus and department, and the rows
of the CSV export. Check-in itself is a registration change (`registrations.domain`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.events.registrations.domain import (
    Registration,
    RegistrationStatus,
)
from shared.timeutil import as_local


@dataclass
class Tally:
    """One group's figures. People are members; `seats` adds their family guests."""

    registered: int = 0  # confirmed (signed up and holding their place)
    seats: int = 0  # confirmed people with their guests
    waitlisted: int = 0
    cancelled: int = 0
    attended: int = 0  # checked in (walk-ins included)
    walk_ins: int = 0

    def add(self, r: Registration) -> None:
        if r.status is RegistrationStatus.confirmed:
            self.registered += 1
            self.seats += 1 + r.guests
        elif r.status is RegistrationStatus.waitlisted:
            self.waitlisted += 1
        else:
            self.cancelled += 1
        if r.checked_in_at is not None:
            self.attended += 1
            self.walk_ins += int(r.walk_in)

    @property
    def rate(self) -> float | None:
        """Attended ÷ registered (None when nobody registered)."""
        return round(self.attended / self.registered, 4) if self.registered else None


@dataclass
class Attendance:
    total: Tally = field(default_factory=Tally)
    by_campus: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_department: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))


def attendance(registrations: Iterable[Registration]) -> Attendance:
    out = Attendance()
    for r in registrations:
        out.total.add(r)
        out.by_campus[r.campus].add(r)
        out.by_department[r.department].add(r)
    return out


CSV_HEADER = (
    "姓名",
    "部门",
    "校区",
    "状态",
    "家属人数",
    "候补号",
    "报名时间",
    "签到时间",
    "签到人",
    "现场登记",
    "取消原因",
)


def _when(moment: object) -> str:
    return as_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""  # type: ignore[arg-type]


def csv_row(r: Registration) -> tuple[str, ...]:
    return (
        r.name,
        r.department,
        r.campus,
        r.status.label + ("（已签到）" if r.checked_in_at else ""),
        str(r.guests),
        str(r.waitlist_no or ""),
        _when(r.registered_at),
        _when(r.checked_in_at),
        r.checked_in_by_name or r.checked_in_by or "",
        "是" if r.walk_in else "",
        r.cancel_reason.label if r.cancel_reason else "",
    )

"""Pure registration rules (报名): one registration per member and activity, its seats or its
place on the waitlist, cancelling, promotion and check-in.

Seats and waitlist numbers are not decided here: they are claimed with unique-key inserts
(`store.py`) before a registration records the outcome, so the aggregate only states what
was won. A registration's events are keyed by its activity (`partition_key`): one activity's
sign-ups, waitlist and promotions are one Kafka partition, handled in order by one consumer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.events.activities.domain import Activity
from services.events.activities.eligibility import Person
from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.events import (
    AttendanceRecorded,
    RegistrationCancelled,
    RegistrationCheckedIn,
    RegistrationConfirmed,
    RegistrationFacts,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.timeutil import as_local
from shared.vocabulary.events import CancelReason, RegistrationStatus

# Check-in codes: six characters a person reads off a phone without doubt (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_TEXT = f"^[{CODE_ALPHABET}{CODE_ALPHABET.lower()}]{{{CODE_LENGTH}}}$"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def registration_id(activity_id: str, member_id: str) -> str:
    """One registration per member and activity, by construction: its id is derived."""
    return f"{activity_id}.{member_id}"


class SignUp(BaseModel):
    """Command: sign up (报名). Without `member_id` the caller signs themself up; a cadre
    names the member to add someone."""

    guests: int = Field(0, ge=0, le=10, description="同行家属人数（占名额）")
    member_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="由工会干部代为报名时填写会员编号",
    )


@dataclass(frozen=True)
class Seated:
    """Seats won (none when the activity has no capacity limit) and the check-in code."""

    seats: list[int]
    code: str


@dataclass(frozen=True)
class Waiting:
    """A place on the waitlist: its number in the activity's FIFO series."""

    number: int


Outcome = Seated | Waiting


class Registration(Aggregate):
    """One member's registration for one activity. `campus` is the member's campus."""

    activity_id: str
    activity_title: str
    activity_kind: str
    activity_campus: str
    member_id: str
    name: str
    department: str
    guests: int = 0
    status: RegistrationStatus
    round: int = 1  # how many times the member signed up for it (a cancel, then again)
    token: str  # the sign-up's own key: its seats and waitlist entry are held under it
    seats: list[int] = Field(default_factory=list)
    waitlist_no: int | None = None
    code: str | None = None
    registered_at: datetime
    registered_by: str
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: CancelReason | None = None
    cancelled_by: str | None = None
    checked_in_at: datetime | None = None
    checked_in_by: str | None = None
    checked_in_by_name: str | None = None
    walk_in: bool = False

    @property
    def partition_key(self) -> str:
        return self.activity_id

    # What subscribers learn (RegistrationFacts reads these by name).
    @property
    def registration_id(self) -> str:
        return self.id

    @property
    def member_campus(self) -> str:
        return self.campus

    @property
    def active(self) -> bool:
        return self.status is not RegistrationStatus.cancelled

    @property
    def seats_taken(self) -> int:
        """Seats this registration counts against the capacity (guests included)."""
        return 1 + self.guests if self.status is RegistrationStatus.confirmed else 0

    def facts(self, event: type[RegistrationFacts], **extra: object) -> RegistrationFacts:
        return event.of(self, **extra)

    # -- changes ------------------------------------------------------------------------------

    def sign_up_again(
        self, outcome: Outcome, token: str, guests: int, by: str, now: datetime
    ) -> None:
        """A cancelled registration signs up again (a new round); an active one stays as it
        is (signing up twice is signing up once)."""
        if self.active:
            return
        self.round += 1
        self.guests, self.token, self.registered_at, self.registered_by = guests, token, now, by
        self.cancelled_at = self.cancel_reason = self.cancelled_by = None
        self.checked_in_at = self.checked_in_by = self.checked_in_by_name = None
        self.walk_in = False
        self._apply(outcome, now)

    def promote(self, token: str, seated: Seated, now: datetime) -> None:
        """The waitlist moved up to this registration and seats were won for it."""
        if self.status is not RegistrationStatus.waitlisted or self.token != token:
            return  # cancelled or promoted meanwhile: nothing to do
        self.status = RegistrationStatus.confirmed
        self.seats, self.code, self.confirmed_at = seated.seats, seated.code, now
        self.record(self.facts(RegistrationPromoted))

    def cancel(self, reason: CancelReason, by: str, now: datetime) -> None:
        if not self.active:
            raise Conflict(
                "registration.already_cancelled",
                "该报名已取消",
                cancelled_at=as_local(self.cancelled_at).isoformat() if self.cancelled_at else None,
            )
        if self.checked_in_at is not None:
            raise Conflict("registration.attended", "已签到的报名不能取消")
        freed = self.seats_taken if self.seats else 0
        self.status = RegistrationStatus.cancelled
        self.cancelled_at, self.cancel_reason, self.cancelled_by = now, reason, by
        # `seats` stays: the promoter frees exactly these numbers, then moves the waitlist.
        self.record(self.facts(RegistrationCancelled, reason=reason.value, seats_freed=freed))

    def check_in(self, by: str, by_name: str, now: datetime, kind: str) -> None:
        """签到: once per registration; a second check-in says when and by whom."""
        if self.checked_in_at is not None:
            at = as_local(self.checked_in_at).strftime("%H:%M")
            raise Conflict(
                "checkin.already",
                f"已于 {at} 由 {self.checked_in_by_name or self.checked_in_by} 签到",
                checked_in_at=as_local(self.checked_in_at).isoformat(),
                checked_in_by=self.checked_in_by_name or self.checked_in_by,
            )
        if self.status is not RegistrationStatus.confirmed:
            raise Conflict(
                "checkin.not_confirmed",
                f"该报名{self.status.label}，不能凭码签到（可登记为现场参加）",
                current=self.status.value,
            )
        self._checked_in(by, by_name, now, kind)

    def record_walk_in(self, by: str, by_name: str, now: datetime, kind: str) -> None:
        """现场登记: a waiting or cancelled registrant came anyway (a confirmed one checks in)."""
        if self.status is RegistrationStatus.confirmed:
            self.check_in(by, by_name, now, kind)
            return
        if self.checked_in_at is not None:
            self.check_in(by, by_name, now, kind)  # raises: already checked in
        self.status = RegistrationStatus.confirmed
        self.seats, self.walk_in = [], True
        self.cancelled_at = self.cancel_reason = self.cancelled_by = None
        self._checked_in(by, by_name, now, kind)

    def _checked_in(self, by: str, by_name: str, now: datetime, kind: str) -> None:
        self.checked_in_at, self.checked_in_by, self.checked_in_by_name = now, by, by_name
        self.record(self.facts(RegistrationCheckedIn, checked_in_at=now, walk_in=self.walk_in))
        self.record(
            AttendanceRecorded.of(
                self,
                activity_kind=kind,
                attended_on=as_local(now).date(),
                checked_in_at=now,
                walk_in=self.walk_in,
            )
        )

    def _apply(self, outcome: Outcome, now: datetime) -> None:
        if isinstance(outcome, Seated):
            self.status = RegistrationStatus.confirmed
            self.seats, self.code, self.waitlist_no = outcome.seats, outcome.code, None
            self.confirmed_at = now
            self.record(self.facts(RegistrationConfirmed))
        else:
            self.status = RegistrationStatus.waitlisted
            self.seats, self.code, self.waitlist_no = [], None, outcome.number
            self.confirmed_at = None
            self.record(self.facts(RegistrationWaitlisted))


# -- creating one -----------------------------------------------------------------------------


def sign_up(
    activity: Activity,
    person: Person,
    guests: int,
    outcome: Outcome,
    token: str,
    by: str,
    now: datetime,
) -> Registration:
    registration = _new(
        activity,
        person,
        guests=guests,
        status=RegistrationStatus.waitlisted,
        token=token,
        registered_at=now,
        registered_by=by,
    )
    registration._apply(outcome, now)
    return registration


def _new(activity: Activity, person: Person, **fields: Any) -> Registration:
    """A registration of `person` for `activity`, with what it copies of both."""
    return Registration(
        id=registration_id(activity.id, person.id),
        campus=person.campus,
        activity_id=activity.id,
        activity_title=activity.title,
        activity_kind=activity.kind.value,
        activity_campus=activity.campus,
        member_id=person.id,
        name=person.name,
        department=person.department,
        **fields,
    )


def walk_in(
    activity: Activity, person: Person, by: str, by_name: str, now: datetime
) -> Registration:
    """A member who came without registering (现场登记): attended, no seat taken."""
    registration = _new(
        activity,
        person,
        status=RegistrationStatus.confirmed,
        token=secrets.token_hex(6),
        registered_at=now,
        registered_by=by,
        confirmed_at=now,
        walk_in=True,
    )
    registration._checked_in(by, by_name, now, activity.kind.value)
    return registration


SignUpWindow = Literal["not_open", "open", "closed"]


def window(activity: Activity, now: datetime) -> SignUpWindow:
    opens = activity.signup_opens_at or activity.published_at or activity.starts_at
    if now < opens:
        return "not_open"
    if now >= activity.signup_deadline():
        return "closed"
    return "open"

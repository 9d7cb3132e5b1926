"""The hardship register (困难职工档案): one file per member in difficulty, with the reason
(sealed at rest), the help given over the years and a review each year. No I/O."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.welfare import HardshipFileChanged
from shared.labels import Labelled
from shared.vocabulary.welfare import HardshipLevel, ReviewOutcome


class HardshipStatus(Labelled):
    open = "open", "在档"
    closed = "closed", "已脱困"


class HardshipChange(Labelled):
    opened = "opened", "建档"
    help_added = "help_added", "记录帮扶"
    reviewed = "reviewed", "年度复核"
    closed = "closed", "出档"
    reopened = "reopened", "重新建档"


class Help(BaseModel):
    year: int
    given_on: date
    what: str  # 帮扶内容
    amount_fen: int
    case_id: str | None = None
    by: str


class Review(BaseModel):
    year: int
    outcome: ReviewOutcome
    note: str
    by: str
    at: datetime


def file_id_of(member_id: str) -> str:
    """One file per member, by construction: two cadres opening it race for one key."""
    return f"h-{member_id}"


class HardshipFile(Aggregate):
    secret_fields = frozenset({"reason"})

    member_id: str
    status: HardshipStatus = HardshipStatus.open
    level: HardshipLevel
    reason: str  # sealed at rest: the chair and the campus's cadres read it
    opened_on: date
    help: list[Help] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)

    @classmethod
    def open_new(
        cls, member_id: str, campus: str, level: HardshipLevel, reason: str, today: date
    ) -> HardshipFile:
        found = cls(
            id=file_id_of(member_id),
            campus=campus,
            member_id=member_id,
            level=level,
            reason=reason,
            opened_on=today,
        )
        found._changed(HardshipChange.opened, today.year)
        return found

    def _changed(self, change: HardshipChange, year: int) -> None:
        self.record(HardshipFileChanged.of(self, change=change.value, year=year))

    def reopen(self, level: HardshipLevel, reason: str, today: date) -> None:
        if self.status is HardshipStatus.open:
            raise Conflict("hardship.open", "该会员已在困难职工档案中", id=self.id)
        self.status, self.level, self.reason, self.opened_on = (
            HardshipStatus.open,
            level,
            reason,
            today,
        )
        self._changed(HardshipChange.reopened, today.year)

    def add_help(self, help_: Help) -> None:
        if self.status is not HardshipStatus.open:
            raise Conflict("hardship.closed", "档案已出档，不能再记录帮扶", id=self.id)
        self.help = [*self.help, help_]
        self._changed(HardshipChange.help_added, help_.year)

    def review(self, review: Review) -> None:
        if self.status is not HardshipStatus.open:
            raise Conflict("hardship.closed", "档案已出档，无需复核", id=self.id)
        if any(r.year == review.year for r in self.reviews):
            raise Conflict(
                "hardship.reviewed", f"{review.year} 年度已复核", id=self.id, year=review.year
            )
        self.reviews = [*self.reviews, review]
        self._changed(HardshipChange.reviewed, review.year)
        if review.outcome is ReviewOutcome.close:
            self.status = HardshipStatus.closed
            self._changed(HardshipChange.closed, review.year)

    def due_review(self, year: int) -> bool:
        return self.status is HardshipStatus.open and all(r.year != year for r in self.reviews)

    def help_fen(self) -> int:
        return sum(h.amount_fen for h in self.help)

"""Birthday benefits (生日慰问): one per member and year, made by the monthly run for members
born in that month; the member chooses a gift until `choose_by`, after which the default is
given. No I/O."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.welfare import BirthdayBenefitChosen, BirthdayBenefitOffered
from shared.labels import Labelled


class BirthdayGift(Labelled):
    cake = "cake", "生日蛋糕券"
    books = "books", "购书卡"
    fruit = "fruit", "水果礼盒"


DEFAULT_GIFT = BirthdayGift.cake

# What a birthday benefit is worth (the union's standard), counted against the policy
# profile's birthday cap for the year (services/welfare/policy).
BIRTHDAY_FEN = 20_000


class BenefitStatus(Labelled):
    offered = "offered", "待选择"
    chosen = "chosen", "已选择"
    defaulted = "defaulted", "已按默认发放"


def benefit_id_of(member_id: str, year: int) -> str:
    """One benefit per member and year, by construction: two runs race for one key."""
    return f"b-{year}-{member_id}"


def days_of(month: str) -> list[str]:
    """The birthdays (MM-DD) of a month, as the member directory stores them.

    February takes 02-29 every year: in a common year a member born on 29 February has no day
    of their own, and without it they would have a benefit one year in four."""
    year, number = (int(p) for p in month.split("-"))
    last = calendar.monthrange(year, number)[1]
    if number == 2:
        last = 29
    return [f"{number:02d}-{day:02d}" for day in range(1, last + 1)]


def last_day(month: str) -> date:
    year, number = (int(p) for p in month.split("-"))
    return date(year, number, calendar.monthrange(year, number)[1])


class BirthdayBenefit(Aggregate):
    member_id: str
    month: str  # YYYY-MM
    amount_fen: int
    choose_by: date
    status: BenefitStatus = BenefitStatus.offered
    gift: BirthdayGift | None = None
    chosen_at: datetime | None = None

    @classmethod
    def offer(cls, member_id: str, campus: str, month: str, amount_fen: int) -> BirthdayBenefit:
        benefit = cls(
            id=benefit_id_of(member_id, int(month[:4])),
            campus=campus,
            member_id=member_id,
            month=month,
            amount_fen=amount_fen,
            choose_by=last_day(month),
        )
        benefit.record(BirthdayBenefitOffered.of(benefit))
        return benefit

    def choose(self, gift: BirthdayGift, today: date, now: datetime) -> None:
        if self.status is BenefitStatus.defaulted or today > self.choose_by:
            raise Conflict(
                "birthday.closed",
                f"生日福利已于 {self.choose_by.isoformat()} 截止选择",
                choose_by=self.choose_by.isoformat(),
            )
        if self.gift is gift:
            return  # the same choice again: nothing to do
        self.gift, self.status, self.chosen_at = gift, BenefitStatus.chosen, now
        self.record(BirthdayBenefitChosen.of(self, option=gift.value, by_default=False))

    def give_default(self, today: date, now: datetime) -> None:
        if self.status is not BenefitStatus.offered or today <= self.choose_by:
            return
        self.gift, self.status, self.chosen_at = DEFAULT_GIFT, BenefitStatus.defaulted, now
        self.record(BirthdayBenefitChosen.of(self, option=DEFAULT_GIFT.value, by_default=True))

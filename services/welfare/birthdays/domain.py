"""Birthday benefits (生日慰问): one per member and year, made by the monthly run for members
born in that month; the member chooses a gift until `choose_by`, after which the default is
given. No I/O.

The money is committed when the benefit is made: from then the member has it (the default
if they choose nothing), and every gift is worth the same. So the run counts it against the
member's birthday cap and pays it on the campus's ledger (生日慰问) then — not one entry per
benefit but one per batch (`batch_key`): a finance office books birthday money as one
voucher per batch ("2026-12 生日慰问 250 人"), and a campus's ledger is a hash chain whose
entries take turns, so thousands of entries a month would make the run as slow as the chain.
The batch's key is its content (campus, month, the benefits' ids and amounts): a twin run
that makes the same batch names the same key, and the ledger keeps one entry per key.

A batch the budget refuses leaves its benefits made but 未记账, saying why; a later run, or
the daily job, posts the batch (补记) once the budget allows. The gift is the member's either
way."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.welfare import (
    BirthdayBenefitChosen,
    BirthdayBenefitOffered,
    BirthdayBenefitPosted,
)
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


class LedgerStatus(Labelled):
    posted = "posted", "已记账"
    unposted = "unposted", "未记账"


# The spending line of the chart of accounts (funds/data) birthday benefits are paid from.
LEDGER_LINE = "spend_activity_birthday"  # 生日慰问


@dataclass(frozen=True)
class Booking:
    """What the ledger answered for a batch's money, so for each of its benefits: the
    entry, or why not."""

    seq: int | None  # the batch's payment's number in the campus's ledger (None: refused)
    code: str | None = None  # the refusal's problem code (`funds.over_budget`, …)
    message: str | None = None  # …and its words
    batch: str | None = None  # the batch's key (the entry's idempotency key)


def ledger_key(benefit_id: str) -> str:
    """The key a benefit's payment had when each benefit was paid on its own (before
    batches): only looked up, so that such a payment is never made again in a batch."""
    return f"birthday:{benefit_id}"


def batch_key(campus: str, month: str, benefits: Iterable[tuple[str, int]]) -> str:
    """The key of a batch of (benefit id, amount) on one campus's ledger, from its content
    alone: a replay, a retry or a twin run that makes the same batch names the same key, and
    the ledger keeps one entry per key. It is also the batch's payment's idempotency key."""
    lines = sorted({f"{benefit_id} {amount_fen}" for benefit_id, amount_fen in benefits})
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    return f"birthdays:{campus}:{month}:{digest}"


def batch_cause(month: str, count: int) -> str:
    """The payment's 事由, as the finance office writes its voucher."""
    return f"{month} 生日慰问 {count} 人"


def batch_ref(key: str) -> str:
    """The payment's cause reference: the batch, whose claims name its benefits."""
    return f"welfare.birthday-batch:{key}"


def booked_on(month: str, today: date) -> date:
    """The payment's date: today, in the year's own ledger. A benefit of another year is
    posted in that year's ledger: on its last day when the year is over, on the first of the
    benefit's month when a run is ahead of it."""
    year = int(month[:4])
    if today.year == year:
        return today
    if today.year > year:
        return date(year, 12, 31)
    return date(year, int(month[5:7]), 1)


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
    # The ledger: a benefit made before its money was posted says 未记账 (and why, when the
    # budget refused it) until a run posts it; `ledger_batch` is the batch it is paid in
    # (the entry's key), `ledger_seq` that entry's number.
    ledger: LedgerStatus = LedgerStatus.unposted
    ledger_batch: str | None = None
    ledger_seq: int | None = None
    ledger_problem_code: str | None = None
    ledger_problem: str | None = None

    @property
    def year(self) -> int:
        return int(self.month[:4])

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

    def booked(self, booking: Booking) -> None:
        """What the ledger answered for the money of the benefit's batch. A benefit being
        made takes it with its offer; a made one that was 未记账 records its late posting
        (补记) — and a refusal again changes nothing (it says 未记账 already)."""
        if self.ledger is LedgerStatus.posted:
            return
        if booking.seq is None:
            if self.version == 0:
                self.ledger_problem_code, self.ledger_problem = booking.code, booking.message
                self.ledger_batch = booking.batch
            return
        self.ledger, self.ledger_seq = LedgerStatus.posted, booking.seq
        self.ledger_batch = booking.batch or self.ledger_batch
        self.ledger_problem_code = self.ledger_problem = None
        if self.version:
            self.record(BirthdayBenefitPosted.of(self))

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

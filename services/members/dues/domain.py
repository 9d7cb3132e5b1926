"""Dues rules (会费), pure: no I/O. Money is integer fen; no float anywhere.

- Monthly dues are `rate_bp` basis points (default 50 = 0.5%) of the member's salary base,
  rounded to the fen by the configured rule (`half_up` by default).
- A month is billed to the members who are active (在会) when the bills are generated and
  joined by the end of that month. Retired members (退休会员) stay members but pay no dues;
  a retiree re-employed by the school (退休返聘) is an active member and pays on the salary
  base of the new post. A member without a salary base is reported, never billed 0.
- Each member's month is an account of entries: the bill opens it (+due), a payment takes
  from it (−paid; never below 0, so nobody pays more than is due), a reversal puts a payment
  back (+paid). The running balance is what is still owed. Nothing is ever edited.
- Each payment and reversal is announced once (welfare books it); one that a crash left
  unannounced is announced by a run that looks back a few days (`AnnounceWindow`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from services.members.membership.domain import Member, MemberStatus
from shared.errors import Forbidden, Invalid
from shared.parsing import fen_of, text_of, yuan_to_fen
from shared.text import fold_width
from shared.timeutil import local_today

BP = 10_000  # basis points in one


class Rounding(StrEnum):
    half_up = "half_up"  # 四舍五入: 0.5 fen up
    half_even = "half_even"  # 银行家舍入: 0.5 fen to the even fen
    down = "down"  # 舍去: any fraction dropped
    up = "up"  # 进一: any fraction makes a fen


def monthly_dues(salary_base_fen: int, rate_bp: int, rounding: Rounding) -> int:
    """`rate_bp`/10000 of the salary base, rounded to the fen: exact integer arithmetic."""
    if not isinstance(salary_base_fen, int) or not isinstance(rate_bp, int):
        raise TypeError("money is integer fen and the rate integer basis points")
    if salary_base_fen < 0 or rate_bp < 0:
        raise ValueError("a salary base and a rate are never negative")
    whole, rest = divmod(salary_base_fen * rate_bp, BP)
    if rest == 0 or rounding is Rounding.down:
        return whole
    if rounding is Rounding.up:
        return whole + 1
    twice = 2 * rest
    if twice > BP or (twice == BP and (rounding is Rounding.half_up or whole % 2 == 1)):
        return whole + 1
    return whole


@dataclass(frozen=True)
class DuesPolicy:
    """The configured rate and rounding (settings: GONGHUI_DUES_RATE_BP, _DUES_ROUNDING)."""

    rate_bp: int = 50
    rounding: Rounding = Rounding.half_up

    def dues(self, salary_base_fen: int) -> int:
        return monthly_dues(salary_base_fen, self.rate_bp, self.rounding)


# -- months -----------------------------------------------------------------------------------

MONTH_TEXT = r"^20\d{2}-(0[1-9]|1[0-2])$"  # 2000-01 … 2099-12
MONTH = re.compile(MONTH_TEXT)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> date:
    start = month_start(month)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


_MONTH_FORMS = (
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月)?$"),  # 2026-04, 2026/4, 2026年4月
    re.compile(r"^(\d{4})(\d{2})$"),  # 202604
    # a date (Excel turns 2026-04 into 2026/4/1): its month
    re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*\d{1,2}\s*日?(?:\s+[\d:]+)?$"),
)


def parse_month(text: str) -> str | None:
    """A month as schools write it, as YYYY-MM; None when it is none."""
    value = fold_width(text).strip()
    for form in _MONTH_FORMS:
        found = form.match(value)
        if found:
            month = f"{int(found.group(1)):04d}-{int(found.group(2)):02d}"
            return month if MONTH.match(month) else None
    return None


# -- amounts ----------------------------------------------------------------------------------

MAX_PAYMENT_FEN = 100_000_000  # one million yuan: a typo beyond that, never a month's dues


def payment_fen(text: str, unit: Literal["yuan", "fen"]) -> int:
    """A payment's amount as a payment list writes it (`shared.parsing` reads the number):
    more than nothing, and not beyond what a typo would make of it."""
    fen = yuan_to_fen(text, "金额") if unit == "yuan" else fen_of(text, "金额")
    if fen <= 0:
        raise Invalid("dues.amount_not_positive", f"金额「{text_of(text)}」应大于 0")
    if fen > MAX_PAYMENT_FEN:
        raise Invalid("dues.amount_too_large", f"金额「{text_of(text)}」过大")
    return fen


# -- who is billed ----------------------------------------------------------------------------


class NotBilled(StrEnum):
    no_salary_base = "no_salary_base"  # 未登记会费基数
    zero_dues = "zero_dues"  # 会费基数过低，应缴 0 元


def bill_for(member: Member, month: str, policy: DuesPolicy) -> int | NotBilled | None:
    """The month's dues of the member; a NotBilled reason to report; None: not due at all
    (not active, or joined after the month)."""
    if member.status is not MemberStatus.active:
        return None
    if member.joined_on is not None and member.joined_on > month_end(month):
        return None
    base = member.salary_base_fen
    if base is None or base <= 0:
        return NotBilled.no_salary_base
    amount = policy.dues(base)
    return amount if amount > 0 else NotBilled.zero_dues


# -- the entries of a member's month ----------------------------------------------------------


class EntryKind(StrEnum):
    bill = "bill"  # 应缴
    payment = "payment"  # 缴费
    reversal = "reversal"  # 冲正


class PaymentMethod(StrEnum):
    payroll = "payroll"  # 工资代扣
    transfer = "transfer"  # 转账
    cash = "cash"  # 现金
    online = "online"  # 微信 / 支付宝
    other = "other"


def check_not_own_bill(by: str, member_id: str) -> None:
    """Separation of duties: nobody records (or reverses) a payment on their own bill."""
    if by == member_id:
        raise Forbidden(
            "dues.own_bill",
            "不能登记或冲正本人会费账单的缴费，请由其他经费管理人员办理",
            member_id=member_id,
        )


def account_of(month: str, member_id: str) -> str:
    """One account (and one bill) per member and month."""
    return f"{month}:{member_id}"


@dataclass(frozen=True)
class Entry:
    month: str
    member_id: str
    seq: int
    kind: EntryKind
    amount_fen: int  # bill +due, payment −paid, reversal +paid back
    balance_fen: int  # still owed after this entry
    at: datetime
    by: str
    staff_no: str = ""
    name: str = ""
    campus: str = ""
    department: str = ""
    paid_on: date | None = None
    method: PaymentMethod | None = None
    note: str | None = None
    reverses: int | None = None  # seq of the payment a reversal puts back


BillStatus = Literal["unpaid", "partial", "paid"]


def status_of(due_fen: int, owed_fen: int) -> BillStatus:
    """Paid when nothing is owed; unpaid while nothing (net of reversals) was paid."""
    if owed_fen == 0:
        return "paid"
    return "unpaid" if due_fen - owed_fen == 0 else "partial"


def status_matches(wanted: BillStatus | Literal["owing"], due_fen: int, owed_fen: int) -> bool:
    """The bill list's status filter: one status, or `owing` (unpaid or partial)."""
    if wanted == "owing":
        return owed_fen > 0
    return status_of(due_fen, owed_fen) == wanted


@dataclass
class Bill:
    """A member's month: the bill and what happened to it since."""

    bill: Entry
    entries: list[Entry] = field(default_factory=list)  # every entry, the bill first

    @property
    def due_fen(self) -> int:
        return self.bill.amount_fen

    @property
    def owed_fen(self) -> int:
        return self.entries[-1].balance_fen

    @property
    def paid_fen(self) -> int:
        return self.due_fen - self.owed_fen

    @property
    def status(self) -> BillStatus:
        return status_of(self.due_fen, self.owed_fen)

    def reversed_seqs(self) -> set[int]:
        return {e.reverses for e in self.entries if e.reverses is not None}


def bills_of(entries: Iterable[Entry]) -> list[Bill]:
    """Group entries into bills (accounts without a bill entry are ignored: there are none)."""
    grouped: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        grouped[(e.month, e.member_id)].append(e)
    bills = []
    for chain in grouped.values():
        chain.sort(key=lambda e: e.seq)
        if chain[0].kind is EntryKind.bill:
            bills.append(Bill(chain[0], chain))
    return sorted(bills, key=lambda b: (b.bill.campus, b.bill.staff_no, b.bill.month))


# -- arrears ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    month: str
    due_fen: int
    paid_fen: int
    owed_fen: int


@dataclass
class Debtor:
    member_id: str
    staff_no: str
    name: str
    campus: str
    department: str
    months: list[Owed] = field(default_factory=list)

    @property
    def owed_fen(self) -> int:
        return sum(m.owed_fen for m in self.months)


@dataclass(frozen=True)
class Subtotal:
    campus: str
    department: str | None  # None: the whole campus
    members: int
    months: int
    owed_fen: int


@dataclass
class Arrears:
    debtors: list[Debtor]
    by_department: list[Subtotal]
    by_campus: list[Subtotal]
    members: int
    months: int
    owed_fen: int


def arrears(bills: Iterable[Bill]) -> Arrears:
    """Who owes what for which months (each bill on the campus and department it was billed
    to), with totals per department, per campus and overall."""
    debtors: dict[str, Debtor] = {}
    for b in bills:
        if b.owed_fen <= 0:
            continue
        who = debtors.get(b.bill.member_id)
        if who is None:
            who = debtors[b.bill.member_id] = Debtor(
                b.bill.member_id, b.bill.staff_no, b.bill.name, b.bill.campus, b.bill.department
            )
        who.months.append(Owed(b.bill.month, b.due_fen, b.paid_fen, b.owed_fen))
    rows = sorted(debtors.values(), key=lambda d: (d.campus, d.department, d.staff_no))
    for d in rows:
        d.months.sort(key=lambda m: m.month)

    def subtotals(key: str) -> list[Subtotal]:
        acc: dict[tuple[str, str | None], list[Debtor]] = defaultdict(list)
        for d in rows:
            acc[(d.campus, d.department if key == "department" else None)].append(d)
        return [
            Subtotal(
                campus,
                department,
                len(ds),
                sum(len(d.months) for d in ds),
                sum(d.owed_fen for d in ds),
            )
            for (campus, department), ds in sorted(acc.items(), key=lambda kv: str(kv[0]))
        ]

    return Arrears(
        debtors=rows,
        by_department=subtotals("department"),
        by_campus=subtotals("campus"),
        members=len(rows),
        months=sum(len(d.months) for d in rows),
        owed_fen=sum(d.owed_fen for d in rows),
    )


# -- announcing what a crash left out ---------------------------------------------------------

ANNOUNCE_SETTLE = timedelta(minutes=5)  # a request still announcing its own entry is left be
MAX_ANNOUNCE_DAYS = 31  # the longest look back (GONGHUI_DUES_ANNOUNCE_WINDOW_DAYS)


def recorded_on(at: datetime) -> str:
    """The local (Asia/Shanghai) date a payment or reversal was recorded: an entry's
    `recorded_on`, which a repair run asks for by equality, day by day."""
    return local_today(at).isoformat()


@dataclass(frozen=True)
class AnnounceWindow:
    """The payments and reversals a repair run looks at: recorded from `since` until `until`
    (UTC). It ends a few minutes before the run, so an entry whose request is still
    announcing it is not announced from two places at once (harmless, only wasted)."""

    since: datetime
    until: datetime

    @classmethod
    def back_from(
        cls, now: datetime, days: int, settle: timedelta = ANNOUNCE_SETTLE
    ) -> AnnounceWindow:
        if not 1 <= days <= MAX_ANNOUNCE_DAYS:
            raise ValueError(f"a repair looks back 1 to {MAX_ANNOUNCE_DAYS} days, not {days}")
        return cls(now - timedelta(days=days), now - settle)

    @property
    def days(self) -> list[str]:
        """Every `recorded_on` an entry of the window can carry, oldest first."""
        first, last = local_today(self.since), local_today(self.until)
        return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]

    def holds(self, at: datetime) -> bool:
        return self.since <= at < self.until

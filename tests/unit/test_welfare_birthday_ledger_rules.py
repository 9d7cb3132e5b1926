"""Birthday benefits and the ledger, as pure rules: the line they are paid from, the payment's
key and date, and what a benefit says about its posting (已记账 / 未记账 and why, 补记)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.welfare.birthdays.domain import (
    LEDGER_LINE,
    BirthdayBenefit,
    BirthdayGift,
    Booking,
    LedgerStatus,
    booked_on,
    ledger_key,
)
from services.welfare.funds.chart import LineKind, current_chart

REFUSED = Booking(None, "funds.over_budget", "「生日慰问」预算 100.00 元……不足支付 200.00 元")


def made(booking: Booking | None = None) -> BirthdayBenefit:
    benefit = BirthdayBenefit.offer("m-1", "main", "2026-03", 20_000)
    if booking is not None:
        benefit.booked(booking)
    return benefit


def ledger_of(benefit: BirthdayBenefit) -> tuple[LedgerStatus, int | None]:
    return benefit.ledger, benefit.ledger_seq


def types(benefit: BirthdayBenefit) -> list[str]:
    return [e.type for e in benefit.pull_events()]


def test_birthday_money_is_paid_from_the_birthday_line_of_the_chart():
    line = current_chart().postable(LEDGER_LINE, LineKind.spending)
    assert line.name == "生日慰问"


def test_one_key_per_benefit_and_never_a_case_or_an_entitlement_key():
    assert ledger_key("b-2026-m-1") == "birthday:b-2026-m-1"
    assert ledger_key("b-2026-m-1") != ledger_key("b-2027-m-1")


def test_the_payment_is_dated_within_the_benefits_year():
    assert booked_on("2026-03", date(2026, 3, 1)) == date(2026, 3, 1)
    assert booked_on("2026-03", date(2026, 11, 20)) == date(2026, 11, 20)
    assert booked_on("2026-12", date(2027, 1, 5)) == date(2026, 12, 31)  # posted late
    assert booked_on("2027-01", date(2026, 12, 28)) == date(2027, 1, 1)  # a run ahead


def test_a_benefit_made_with_its_posting_says_where_and_announces_only_its_offer():
    benefit = made(Booking(7))
    assert (benefit.ledger, benefit.ledger_seq, benefit.ledger_problem) == (
        LedgerStatus.posted,
        7,
        None,
    )
    assert types(benefit) == ["welfare.birthday.offered.v1"]


def test_a_refused_benefit_says_why_and_a_later_run_posts_it_once():
    benefit = made(REFUSED)
    assert ledger_of(benefit) == (LedgerStatus.unposted, None)
    assert benefit.ledger_problem_code == "funds.over_budget"
    assert benefit.ledger_problem == REFUSED.message
    assert types(benefit) == ["welfare.birthday.offered.v1"]
    benefit.version = 1  # written: what happens from here is a change of its own
    benefit.booked(REFUSED)  # refused again: nothing new to say
    assert types(benefit) == [] and ledger_of(benefit) == (LedgerStatus.unposted, None)
    benefit.booked(Booking(12))
    assert ledger_of(benefit) == (LedgerStatus.posted, 12)
    assert benefit.ledger_problem_code is None and benefit.ledger_problem is None
    [posted] = benefit.pull_events()
    assert posted.type == "welfare.birthday.posted.v1"
    assert posted.model_dump() == {
        "benefit_id": benefit.id,
        "member_id": "m-1",
        "campus": "main",
        "amount_fen": 20_000,
        "ledger_seq": 12,
    }
    benefit.booked(Booking(13))  # a replay, a twin: the first entry stands
    assert benefit.ledger_seq == 12 and types(benefit) == []


def test_the_gift_is_the_members_whether_or_not_the_budget_allowed_the_posting():
    benefit = made(REFUSED)
    benefit.version = 1
    benefit.choose(BirthdayGift.books, date(2026, 3, 5), datetime(2026, 3, 5, 2, tzinfo=UTC))
    assert benefit.status.value == "chosen" and benefit.ledger is LedgerStatus.unposted

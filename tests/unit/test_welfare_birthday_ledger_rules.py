"""Birthday benefits and the ledger, as pure rules: the line they are paid from, the batch's
key (its content: the same batch names the same key), cause and date, a run's benefits as one
batch per campus, and what a benefit says about its posting (已记账 / 未记账 and why, 补记)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.welfare.birthdays.domain import (
    LEDGER_LINE,
    BirthdayBenefit,
    BirthdayGift,
    Booking,
    LedgerStatus,
    batch_cause,
    batch_key,
    batch_ref,
    booked_on,
    ledger_key,
)
from services.welfare.birthdays.postings import batches_of
from services.welfare.funds.chart import LineKind, current_chart

KEY = "birthdays:main:2026-03:0123456789abcdef"
REFUSED = Booking(
    None, "funds.over_budget", "「生日慰问」预算 100.00 元……不足支付 200.00 元", batch=KEY
)


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


def test_a_batch_is_named_by_its_content_whoever_makes_it_and_in_whatever_order():
    one = batch_key("main", "2026-03", [("b-2026-m-1", 20_000), ("b-2026-m-2", 20_000)])
    assert one == batch_key("main", "2026-03", [("b-2026-m-2", 20_000), ("b-2026-m-1", 20_000)])
    assert one.startswith("birthdays:main:2026-03:") and len(one.rsplit(":", 1)[1]) == 16
    # Another benefit, another amount, another campus or month: another batch.
    others = {
        batch_key("main", "2026-03", [("b-2026-m-1", 20_000)]),
        batch_key("main", "2026-03", [("b-2026-m-1", 20_000), ("b-2026-m-2", 30_000)]),
        batch_key("east", "2026-03", [("b-2026-m-1", 20_000), ("b-2026-m-2", 20_000)]),
        batch_key("main", "2026-04", [("b-2026-m-1", 20_000), ("b-2026-m-2", 20_000)]),
    }
    assert len(others) == 4 and one not in others
    # Never a benefit's own key of before batches (only looked up, never paid again).
    assert ledger_key("b-2026-m-1") == "birthday:b-2026-m-1" != one


def test_the_batch_payment_reads_as_the_finance_office_books_it():
    assert batch_cause("2026-12", 250) == "2026-12 生日慰问 250 人"
    assert batch_ref(KEY) == f"welfare.birthday-batch:{KEY}"


def test_a_runs_benefits_are_one_batch_per_campus():
    made = [("b-1", "main", 20_000), ("b-2", "east", 20_000), ("b-3", "main", 20_000)]
    east, main = batches_of("2026-03", made)
    assert (east.campus, east.benefits) == ("east", (("b-2", 20_000),))
    assert (main.campus, main.benefits) == ("main", (("b-1", 20_000), ("b-3", 20_000)))
    assert main.key == batch_key("main", "2026-03", [("b-3", 20_000), ("b-1", 20_000)])
    assert main.manifest() == {
        "campus": "main",
        "month": "2026-03",
        "benefits": [{"id": "b-1", "amount_fen": 20_000}, {"id": "b-3", "amount_fen": 20_000}],
    }
    assert batches_of("2026-03", []) == []


def test_the_payment_is_dated_within_the_benefits_year():
    assert booked_on("2026-03", date(2026, 3, 1)) == date(2026, 3, 1)
    assert booked_on("2026-03", date(2026, 11, 20)) == date(2026, 11, 20)
    assert booked_on("2026-12", date(2027, 1, 5)) == date(2026, 12, 31)  # posted late
    assert booked_on("2027-01", date(2026, 12, 28)) == date(2027, 1, 1)  # a run ahead


def test_a_benefit_made_with_its_posting_says_where_and_announces_only_its_offer():
    benefit = made(Booking(7, batch=KEY))
    assert (benefit.ledger, benefit.ledger_seq, benefit.ledger_batch, benefit.ledger_problem) == (
        LedgerStatus.posted,
        7,
        KEY,
        None,
    )
    assert types(benefit) == ["welfare.birthday.offered.v1"]


def test_a_refused_benefit_says_why_and_a_later_run_posts_it_once():
    benefit = made(REFUSED)
    assert ledger_of(benefit) == (LedgerStatus.unposted, None)
    assert benefit.ledger_problem_code == "funds.over_budget"
    assert benefit.ledger_problem == REFUSED.message
    assert benefit.ledger_batch == KEY  # the batch it waits in
    assert types(benefit) == ["welfare.birthday.offered.v1"]
    benefit.version = 1  # written: what happens from here is a change of its own
    benefit.booked(REFUSED)  # refused again: nothing new to say
    assert types(benefit) == [] and ledger_of(benefit) == (LedgerStatus.unposted, None)
    benefit.booked(Booking(12, batch=KEY))
    assert ledger_of(benefit) == (LedgerStatus.posted, 12) and benefit.ledger_batch == KEY
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

"""Dues rules, pure: rounding at its edges, who is billed, amounts, the payment list, arrears."""

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

import pytest

from services.members.dues.domain import (
    MAX_ANNOUNCE_DAYS,
    AnnounceWindow,
    Bill,
    DuesPolicy,
    Entry,
    EntryKind,
    NotBilled,
    Rounding,
    arrears,
    bill_for,
    bills_of,
    month_end,
    monthly_dues,
    parse_month,
    payment_fen,
    recorded_on,
)
from services.members.dues.sheets import SheetError, arrears_csv, read_payments
from services.members.membership.domain import Member, MemberStatus
from services.members.settings import MembersSettings
from shared.errors import DomainError
from shared.parsing import fen_to_yuan, parse_date

# salary base (fen) → 0.5% in fen, exactly: the fraction decides each rule.
EDGES = [
    # base, exact,   half_up, half_even, down, up
    (0, "0", 0, 0, 0, 0),
    (100, "0.5", 1, 0, 0, 1),  # exactly half, even below
    (300, "1.5", 2, 2, 1, 2),  # exactly half, odd below
    (500, "2.5", 3, 2, 2, 3),
    (299, "1.495", 1, 1, 1, 2),  # just under half
    (301, "1.505", 2, 2, 1, 2),  # just over half
    (200, "1", 1, 1, 1, 1),  # whole: no rule changes it
    (2, "0.01", 0, 0, 0, 1),  # the smallest fraction
    (998_000, "4990", 4990, 4990, 4990, 4990),
    (998_100, "4990.5", 4991, 4990, 4990, 4991),
    (998_300, "4991.5", 4992, 4992, 4991, 4992),
]


@pytest.mark.parametrize(("base", "exact", "half_up", "half_even", "down", "up"), EDGES)
def test_rounding_rules_at_their_edges(base, exact, half_up, half_even, down, up):
    assert Decimal(base) * 50 / 10_000 == Decimal(exact)
    got = {r: monthly_dues(base, 50, r) for r in Rounding}
    assert got == {
        Rounding.half_up: half_up,
        Rounding.half_even: half_even,
        Rounding.down: down,
        Rounding.up: up,
    }


DECIMAL = {
    Rounding.half_up: ROUND_HALF_UP,
    Rounding.half_even: ROUND_HALF_EVEN,
    Rounding.down: ROUND_DOWN,
    Rounding.up: ROUND_UP,
}


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize("rate_bp", [1, 33, 50, 75, 100, 9_999])
def test_integer_arithmetic_agrees_with_decimal_for_every_base(rounding, rate_bp):
    for base in [*range(0, 3_000), 550_000, 1_234_567, 100_000_000]:
        exact = Decimal(base) * rate_bp / 10_000
        expected = int(exact.quantize(Decimal(1), rounding=DECIMAL[rounding]))
        assert monthly_dues(base, rate_bp, rounding) == expected, (base, rate_bp)


def test_money_is_integer_and_never_negative():
    with pytest.raises(TypeError):
        monthly_dues(100.0, 50, Rounding.half_up)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        monthly_dues(-1, 50, Rounding.half_up)


def test_default_policy_is_half_a_percent_half_up():
    policy = DuesPolicy()
    assert (policy.rate_bp, policy.rounding) == (50, Rounding.half_up)
    assert policy.dues(912_345) == 4562  # 4561.725 元分 → 4562


def member(**over) -> Member:
    base = {
        "id": "m-1",
        "campus": "main",
        "staff_no": "T1",
        "name": "王芳",
        "department": "艺术系",
        "status": MemberStatus.active,
        "joined_on": date(2020, 9, 1),
        "salary_base_fen": 800_000,
    }
    return Member.model_validate({**base, **over})


def test_who_is_billed_for_a_month():
    policy = DuesPolicy()
    assert bill_for(member(), "2026-04", policy) == 4000
    assert bill_for(member(salary_base_fen=None), "2026-04", policy) is NotBilled.no_salary_base
    assert bill_for(member(salary_base_fen=0), "2026-04", policy) is NotBilled.no_salary_base
    assert bill_for(member(salary_base_fen=99), "2026-04", policy) is NotBilled.zero_dues
    # Retired members stay members but pay no dues; applicants and leavers are not billed.
    for status in ("retired", "applied", "withdrawn", "deceased", "rejected"):
        assert bill_for(member(status=status), "2026-04", policy) is None
    # Joined during the month: billed; joined after it: not yet.
    assert bill_for(member(joined_on=date(2026, 4, 30)), "2026-04", policy) == 4000
    assert bill_for(member(joined_on=date(2026, 5, 1)), "2026-04", policy) is None
    # A re-employed retiree (退休返聘) is an active member: billed on the new salary base.
    rehired = member(employment_type="退休返聘", salary_base_fen=300_000)
    assert bill_for(rehired, "2026-04", policy) == 1500


def test_month_ends():
    assert month_end("2026-02") == date(2026, 2, 28)
    assert month_end("2028-02") == date(2028, 2, 29)
    assert month_end("2026-12") == date(2026, 12, 31)


@pytest.mark.parametrize(
    ("text", "month"),
    [
        ("2026-04", "2026-04"),
        ("2026-4", "2026-04"),
        ("2026/04", "2026-04"),
        ("2026年4月", "2026-04"),
        ("２０２６年４月", "2026-04"),
        ("202604", "2026-04"),
        ("2026/4/1", "2026-04"),  # Excel made a date of it
        ("2026-04-01 00:00:00", "2026-04"),
        (" 2026-04 ", "2026-04"),
        ("2026-13", None),
        ("26-04", None),
        ("四月", None),
        ("", None),
    ],
)
def test_months_as_schools_write_them(text, month):
    assert parse_month(text) == month


def test_days():
    assert parse_date("2026-04-10") == date(2026, 4, 10)
    assert parse_date("2026年4月10日") == date(2026, 4, 10)
    with pytest.raises(DomainError):
        parse_date("2026/2/30")


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("45.50", 4550),
        ("45.5", 4550),
        ("45", 4500),
        ("0.01", 1),
        ("1,045.50", 104_550),
        ("￥45.50", 4550),
        ("45.50元", 4550),
        ("４５．５０", 4550),
        ("45.500", 4550),  # trailing zeros are still whole fen
    ],
)
def test_yuan_to_fen_is_exact(text, fen):
    assert payment_fen(text, "yuan") == fen


@pytest.mark.parametrize("text", ["45.505", "0", "0.00", "-5", "abc", "", "1e3", "4.5.0"])
def test_yuan_that_is_not_whole_fen_or_positive_is_refused(text):
    with pytest.raises(DomainError):
        payment_fen(text, "yuan")


def test_fen_columns_and_yuan_text():
    assert payment_fen("4550", "fen") == 4550
    with pytest.raises(DomainError):
        payment_fen("45.50", "fen")
    assert [fen_to_yuan(f) for f in (0, 5, 4550, -4550, 100_000)] == [
        "0.00",
        "0.05",
        "45.50",
        "-45.50",
        "1000.00",
    ]


PAYMENTS_GBK = (
    "工号,姓名,月份,金额（元）,缴费日期,备注\r\n"
    "T2001,王芳,2026-04,45.50,2026-04-10,工资代扣\r\n"
    "ｔ２００２,李静,2026年4月,40,,\r\n"
    ",无工号,2026-04,10.00,,\r\n"
    "T2003,张伟,四月,10.00,,\r\n"
    "T2004,刘洋,2026-04,10.005,,\r\n"
    "T2005,陈明,2026-04,10.00,昨天,\r\n"
    "T2001,王芳,2026-04,45.50,2026-04-10,第二行相同\r\n"
).encode("gbk")


def test_a_gbk_payment_list_reads_row_by_row():
    rows, errors = read_payments(PAYMENTS_GBK)
    assert [(r.row, r.staff_no, r.month, r.amount_fen, r.occurrence) for r in rows] == [
        (2, "T2001", "2026-04", 4550, 1),
        (3, "T2002", "2026-04", 4000, 1),
        (8, "T2001", "2026-04", 4550, 2),  # the second identical row is a second payment
    ]
    assert rows[0].paid_on == date(2026, 4, 10) and rows[0].note == "工资代扣"
    assert [(e.row, e.column) for e in errors] == [
        (4, "工号"),
        (5, "月份"),
        (6, "金额"),
        (7, "缴费日期"),
    ]
    assert "两位小数" in errors[2].message


def test_utf8_with_bom_and_a_fen_column():
    data = "\ufeff工号,月份,金额(分)\nT1,2026-04,4550\n".encode()
    rows, errors = read_payments(data)
    assert not errors and rows[0].amount_fen == 4550


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空"),
        ("姓名,金额（元）\n王,1\n".encode(), "工号"),
        ("工号,月份,金额（元）,金额（分）\nT1,2026-04,1,100\n".encode(), "只有一个金额列"),
        ("工号,月份\nT1,2026-04\n".encode(), "只有一个金额列"),
        (b"\xff\xfe\x00\x00binary", "无法读取"),
    ],
)
def test_files_that_are_not_payment_lists(data, message):
    with pytest.raises(SheetError, match=message):
        read_payments(data)


AT = datetime(2026, 4, 1, tzinfo=UTC)


def entry(member_id, month, seq, kind, amount, balance, **over) -> Entry:
    facts = {"staff_no": member_id.upper(), "name": "某", "campus": "main", "department": "艺术系"}
    return Entry(
        month,
        member_id,
        seq,
        EntryKind(kind),
        amount,
        balance,
        AT,
        "f",
        **{
            **facts,
            **over,
        },
    )


def test_bills_group_entries_and_know_what_is_owed():
    entries = [
        entry("m-a", "2026-04", 2, "payment", -1000, 3000),
        entry("m-a", "2026-04", 1, "bill", 4000, 4000),
        entry("m-a", "2026-04", 3, "reversal", 1000, 4000, reverses=2),
        entry("m-b", "2026-04", 1, "bill", 5000, 5000),
        entry("m-b", "2026-04", 2, "payment", -5000, 0),
    ]
    a, b = bills_of(entries)
    assert isinstance(a, Bill) and [e.seq for e in a.entries] == [1, 2, 3]
    assert (a.due_fen, a.paid_fen, a.owed_fen, a.status) == (4000, 0, 4000, "unpaid")
    assert a.reversed_seqs() == {2}
    assert (b.paid_fen, b.owed_fen, b.status) == (5000, 0, "paid")


def test_arrears_per_member_with_subtotals():
    entries = [
        entry("m-a", "2026-03", 1, "bill", 4000, 4000),
        entry("m-a", "2026-04", 1, "bill", 4000, 4000),
        entry("m-a", "2026-04", 2, "payment", -1500, 2500),
        entry("m-b", "2026-04", 1, "bill", 5000, 5000, department="音乐系"),
        entry("m-c", "2026-04", 1, "bill", 3000, 3000, campus="north"),
        entry("m-d", "2026-04", 1, "bill", 3000, 3000),
        entry("m-d", "2026-04", 2, "payment", -3000, 0),  # paid: not in arrears
    ]
    report = arrears(bills_of(entries))
    assert [(d.member_id, d.owed_fen, [m.month for m in d.months]) for d in report.debtors] == [
        ("m-a", 6500, ["2026-03", "2026-04"]),
        ("m-b", 5000, ["2026-04"]),
        ("m-c", 3000, ["2026-04"]),
    ]
    assert [
        (s.campus, s.department, s.members, s.months, s.owed_fen) for s in report.by_department
    ] == [
        ("main", "艺术系", 1, 2, 6500),
        ("main", "音乐系", 1, 1, 5000),
        ("north", "艺术系", 1, 1, 3000),
    ]
    assert [(s.campus, s.owed_fen) for s in report.by_campus] == [("main", 11500), ("north", 3000)]
    assert (report.members, report.months, report.owed_fen) == (3, 4, 14500)
    text = arrears_csv(report, {"main": "主校区"}).decode("utf-8")
    assert text.startswith("\ufeff校区,部门,工号,姓名,月份")
    assert "主校区,艺术系,M-A,某,2026-04,40.00,15.00,25.00" in text
    assert text.rstrip().endswith("合计,,,3 人,4 个月,,,145.00")


def test_the_announcement_repair_window_ends_before_the_run_and_covers_its_local_days():
    now = datetime(2026, 4, 10, 17, 0, tzinfo=UTC)  # 2026-04-11 01:00 in Shanghai
    window = AnnounceWindow.back_from(now, 7)
    assert (window.since, window.until) == (now - timedelta(days=7), now - timedelta(minutes=5))
    # Entries carry the local date they were recorded on: the window asks for each such day,
    # from 04-04 01:00 to 04-11 00:55 local time.
    assert window.days == [f"2026-04-{d:02d}" for d in range(4, 12)]
    assert recorded_on(datetime(2026, 4, 10, 16, 30, tzinfo=UTC)) == "2026-04-11"
    assert recorded_on(datetime(2026, 4, 10, 15, 59, tzinfo=UTC)) == "2026-04-10"
    # From its first moment on, up to a few minutes ago: a request recorded just now may still
    # be announcing its entry itself.
    assert window.holds(window.since) and not window.holds(window.since - timedelta(seconds=1))
    assert window.holds(now - timedelta(minutes=6))
    assert not window.holds(now - timedelta(minutes=4)) and not window.holds(window.until)
    # Whatever the window holds is on one of the days it asks for.
    moment = window.since
    while moment < window.until:
        assert window.holds(moment) and recorded_on(moment) in window.days
        moment += timedelta(minutes=37)
    assert AnnounceWindow.back_from(now, 1).days == ["2026-04-10", "2026-04-11"]


@pytest.mark.parametrize("days", [0, -1, MAX_ANNOUNCE_DAYS + 1])
def test_the_announcement_repair_looks_back_a_bounded_number_of_days(days):
    with pytest.raises(ValueError):
        AnnounceWindow.back_from(datetime(2026, 4, 10, tzinfo=UTC), days)
    with pytest.raises(ValueError):  # the setting refuses it at start
        MembersSettings(dues_announce_window_days=days)
    assert MembersSettings().dues_announce_window_days == 7
    assert (
        len(AnnounceWindow.back_from(datetime(2026, 4, 10, tzinfo=UTC), MAX_ANNOUNCE_DAYS).days)
        == 32
    )

"""The shared cell parsers, pure: amounts, dates and yes/no as a school's files hold them."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from shared.errors import ErrorKind
from shared.parsing import Unparsable, fen_of, half_width, parse_bool, parse_date, yuan_to_fen
from shared.spreadsheet import read_table


@pytest.mark.parametrize(
    ("cell", "fen"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("0.01", 1),
        ("0", 0),
        ("¥1,234.50", 123_450),
        ("￥ 45.50", 4550),
        ("45.50元", 4550),
        ("45.50 元", 4550),
        ("１２.５", 1250),
        ("１２．５０元", 1250),
        ("１，２３４．５", 123_450),  # a full-width comma groups thousands too
        ("　12.5　", 1250),  # ideographic spaces around it
        ("1,234,567", 123_456_700),
        ("45.500", 4550),  # trailing zeros are still whole fen
        (12, 1200),
        (12.5, 1250),
        (5321.0, 532_100),
        (Decimal("0.10"), 10),
    ],
)
def test_yuan_to_fen_is_exact(cell, fen):
    assert yuan_to_fen(cell) == fen


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("12.505", "parse.too_many_decimals"),
        ("0.001", "parse.too_many_decimals"),
        (45.300000000000004, "parse.too_many_decimals"),  # a formula's float, not an amount
        ("-5", "parse.negative_amount"),
        ("¥-5.00", "parse.negative_amount"),
        ("", "parse.empty"),
        ("   ", "parse.empty"),
        ("\u3000", "parse.empty"),
        (None, "parse.empty"),
        ("abc", "parse.invalid_amount"),
        ("1e3", "parse.invalid_amount"),
        ("4.5.0", "parse.invalid_amount"),
        (".5", "parse.invalid_amount"),
        ("12.", "parse.invalid_amount"),
        ("1,23", "parse.invalid_amount"),  # not thousands: which was meant, 1.23 or 123?
        ("1元2", "parse.invalid_amount"),
        ("1 234", "parse.invalid_amount"),
        ("①②", "parse.invalid_amount"),  # NFKC would read 12: too far
        (True, "parse.invalid_amount"),
        (date(2026, 4, 1), "parse.invalid_amount"),
    ],
)
def test_what_is_not_an_amount_in_fen_is_refused(cell, code):
    with pytest.raises(Unparsable) as refused:
        yuan_to_fen(cell, "会费基数")
    assert refused.value.code == code
    assert refused.value.kind is ErrorKind.invalid and refused.value.status == 422
    assert refused.value.message.startswith("会费基数")


def test_negative_amounts_where_the_caller_allows_them():
    assert yuan_to_fen("-12.50", negative=True) == -1250
    assert yuan_to_fen("¥-0.01元", negative=True) == -1
    assert fen_of("-4550", negative=True) == -4550
    assert yuan_to_fen("-0") == 0  # nothing is not negative


def test_fen_columns_take_integers_only():
    assert fen_of("4550") == 4550
    assert fen_of("４,５５０") == 4550
    assert fen_of(4550.0) == 4550
    for cell, code in (("45.50", "parse.invalid_amount"), ("-1", "parse.negative_amount")):
        with pytest.raises(Unparsable) as refused:
            fen_of(cell)
        assert refused.value.code == code


def test_refusals_speak_chinese_and_name_the_column():
    with pytest.raises(Unparsable) as refused:
        yuan_to_fen("10.005", "金额")
    assert refused.value.message == "金额「10.005」最多两位小数（到分）"
    with pytest.raises(Unparsable) as refused:
        parse_date("2026/2/30", "缴费日期")
    assert refused.value.message == "缴费日期「2026/2/30」不是有效日期，请写成 2026-04-10"


@pytest.mark.parametrize(
    ("cell", "day"),
    [
        ("2026-04-10", date(2026, 4, 10)),
        ("2026/4/1", date(2026, 4, 1)),
        ("2026.4.1", date(2026, 4, 1)),
        ("2026年4月10日", date(2026, 4, 10)),
        ("２０２６年４月１０日", date(2026, 4, 10)),
        ("２０２６－０４－１０", date(2026, 4, 10)),
        ("20260410", date(2026, 4, 10)),
        ("1990-03-08 00:00:00", date(1990, 3, 8)),
        ("1990-03-08T08:30", date(1990, 3, 8)),
        (" 2026 / 4 / 10 ", date(2026, 4, 10)),
        (date(2026, 4, 10), date(2026, 4, 10)),
        (datetime(2026, 4, 10, 23, 59), date(2026, 4, 10)),
    ],
)
def test_dates_as_schools_write_them(cell, day):
    assert parse_date(cell) == day


def test_excel_serials_only_where_the_caller_reads_workbooks():
    assert parse_date(33604, serials=True) == date(1992, 1, 1)
    assert parse_date("33604", serials=True) == date(1992, 1, 1)
    assert parse_date(1, serials=True, epoch_1904=True) == date(1904, 1, 2)
    for cell in (33604, "33604"):
        with pytest.raises(Unparsable) as refused:
            parse_date(cell)  # a CSV's bare number is no date
        assert refused.value.code == "parse.invalid_date"


@pytest.mark.parametrize(
    "cell", ["2026/2/30", "2026-13-01", "26-04-10", "四月十日", "昨天", "2026-04", 60.0]
)
def test_what_is_not_a_day_is_refused(cell):
    with pytest.raises(Unparsable) as refused:
        parse_date(cell, serials=True)
    assert refused.value.code == "parse.invalid_date"


def test_an_empty_date_is_refused_as_empty():
    for cell in ("", "  ", None):
        with pytest.raises(Unparsable) as refused:
            parse_date(cell, "出生日期")
        assert (refused.value.code, refused.value.message) == ("parse.empty", "出生日期不能为空")


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        ("0", False),
        ("１", True),
        ("√", True),
        ("×", False),
        (" 是 ", True),
        (1, True),
        (0.0, False),
        (True, True),
    ],
)
def test_yes_and_no(cell, value):
    assert parse_bool(cell) is value


@pytest.mark.parametrize("cell", ["2", "也许", "yes!", "", None])
def test_what_is_not_yes_or_no_is_refused(cell):
    with pytest.raises(Unparsable) as refused:
        parse_bool(cell, "是否困难职工")
    assert refused.value.code in {"parse.invalid_boolean", "parse.empty"}
    assert refused.value.message.startswith("是否困难职工")


def test_half_width_folds_only_what_an_ime_widens():
    assert half_width("１３８　００１３．５") == "138 0013.5"
    assert half_width("①") == "①"


def test_a_gbk_sheet_from_chinese_excel_reads_cell_by_cell():
    data = (
        "工号,会费基数（元）,入职日期,困难职工\r\n"
        "T1,５３２１．５,２０２３年９月１日,是\r\n"
        'T2," 4,500.00 元 ",2023/9/1,否\r\n'
        "T3,,　,\r\n"
    ).encode("gbk")
    rows = [cells for _, cells in read_table(data, 10).rows[1:]]
    assert [yuan_to_fen(r[1]) for r in rows[:2]] == [532_150, 450_000]
    assert [parse_date(r[2]) for r in rows[:2]] == [date(2023, 9, 1)] * 2
    assert [parse_bool(r[3]) for r in rows[:2]] == [True, False]
    for parse in (yuan_to_fen, parse_date, parse_bool):
        with pytest.raises(Unparsable) as refused:
            parse(rows[2][1] if parse is yuan_to_fen else rows[2][2])
        assert refused.value.code == "parse.empty"

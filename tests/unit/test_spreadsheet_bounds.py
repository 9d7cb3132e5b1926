"""An upload is bounded before it is read: rows counted with the empty ones, the unpacked size
of an XLSX; each bomb is refused quickly with a stable code and a message in Chinese."""

from __future__ import annotations

import time

import pytest

from shared.spreadsheet import MAX_SHEET_ROWS, Oversized, read_table
from tests.bombs import dimension_bomb, row_bomb, zip_bomb


@pytest.mark.parametrize("bomb", [row_bomb, dimension_bomb], ids=["row", "dimension"])
def test_a_row_bomb_is_refused_within_a_second_or_two(bomb):
    data = bomb()
    started = time.perf_counter()
    with pytest.raises(Oversized) as refused:
        read_table(data, 20_000)
    assert time.perf_counter() - started < 2.0
    assert refused.value.code == "too_many_rows"
    assert f"表格超过 {MAX_SHEET_ROWS} 行（含空行）" in refused.value.message


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    data = zip_bomb(300)
    assert len(data) < 2 * 1024 * 1024  # small on the wire …
    started = time.perf_counter()
    with pytest.raises(Oversized) as refused:
        read_table(data, 20_000)
    assert time.perf_counter() - started < 0.5  # … and never unpacked
    assert refused.value.code == "unpacked_too_large"
    assert "解压后超过" in refused.value.message


def test_a_csv_of_blank_lines_is_bounded_too():
    with pytest.raises(Oversized):
        read_table(b"staff_no\n" + b"\n" * (MAX_SHEET_ROWS + 1) + b"T1\n", 20_000)


def test_a_sheet_within_the_bounds_still_reads():
    small = zip_bomb(1)  # 1 MB of blanks inside a cell-less row: within the bounds
    [(number, cells)] = read_table(small, 10).rows
    assert number == 1 and cells[0] == "工号"

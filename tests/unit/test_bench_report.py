"""The bench table's arithmetic and layout (no timing is asserted anywhere)."""

from __future__ import annotations

import pytest

from deploy.bench.report import (
    Measurement,
    Report,
    format_table,
    human_bytes,
    percentile,
    rate,
    ratio,
)


def test_rate_is_zero_when_nothing_was_measured():
    assert rate(100, 2.0) == 50.0
    assert rate(0, 1.0) == 0.0
    assert rate(10, 0.0) == 0.0


def test_percentile_is_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == 5.0
    assert percentile(values, 0) == 1.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_ratio_reads_as_a_fraction_of_the_raw_figure():
    assert ratio(50, 200) == "0.25×"
    assert ratio(1, 1000) == "0.0010×"
    assert ratio(10, 0) == "n/a"


def test_human_bytes():
    assert human_bytes(512) == "512 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**3) == "3.0 GiB"


def test_the_table_puts_raw_limits_first_and_compares_service_rows_with_them():
    report = Report()
    # Added out of order on purpose: raw rows still come first.
    report.add(
        Measurement("e2e", "end to end", 100, 2.0, unit="members", compare_to=("produce", "insert"))
    )
    report.add(Measurement("produce", "kafka produce", 1000, 0.5, unit="msg", raw=True))
    report.add(Measurement("insert", "mongo insert", 100, 0.25, raw=True, note="16 in flight"))
    report.facts.append(("peak RSS", "100.0 MiB"))
    report.legend.append("legend line")

    table = format_table(report)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["key", "measurement"]
    order = [
        line.split()[0]
        for line in lines
        if line.split() and line.split()[0] in {"e2e", "produce", "insert"}
    ]
    assert order == ["produce", "insert", "e2e"]
    e2e = next(line for line in lines if line.startswith("e2e"))
    assert "50.0 members" in e2e
    assert "0.03× produce" in e2e and "0.12× insert" in e2e
    assert "mongo insert [16 in flight]" in table
    assert "peak RSS: 100.0 MiB" in table and table.endswith("legend line")
    widths = {len(line) for line in lines[:3]}
    assert len(lines[1]) == max(widths)  # the rule spans the widest row

"""The bench's one table: pure formatting and arithmetic, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Measurement:
    """`count` operations of one kind that took `seconds`, optionally compared with raw rows."""

    key: str
    label: str
    count: int
    seconds: float
    unit: str = "ops"
    compare_to: Sequence[str] = ()
    note: str = ""
    raw: bool = False

    @property
    def rate(self) -> float:
        return rate(self.count, self.seconds)


@dataclass
class Report:
    measurements: list[Measurement] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)

    def add(self, m: Measurement) -> Measurement:
        self.measurements.append(m)
        return m

    def get(self, key: str) -> Measurement | None:
        return next((m for m in self.measurements if m.key == key), None)


def rate(count: int, seconds: float) -> float:
    """Operations per second; 0 when nothing was measured."""
    return count / seconds if seconds > 0 and count > 0 else 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (pct in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def human_rate(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def ratio(value: float, base: float) -> str:
    """`0.42×`: how much of the raw figure a service path reaches."""
    if base <= 0:
        return "n/a"
    r = value / base
    return f"{r:.2f}×" if r >= 0.01 else f"{r:.4f}×"


def comparisons(m: Measurement, report: Report) -> str:
    parts = []
    for key in m.compare_to:
        base = report.get(key)
        if base is not None:
            parts.append(f"{ratio(m.rate, base.rate)} {base.key}")
    return ", ".join(parts)


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_table(report: Report) -> str:
    """Raw limits first, then the service paths with their ratios, then facts and legend."""
    header = ("key", "measurement", "n", "seconds", "rate /s", "vs raw")
    raw = [m for m in report.measurements if m.raw]
    service = [m for m in report.measurements if not m.raw]

    def cells(m: Measurement) -> tuple[str, ...]:
        return (
            m.key,
            f"{m.label} [{m.note}]" if m.note else m.label,
            f"{m.count:,}",
            f"{m.seconds:.2f}",
            f"{human_rate(m.rate)} {m.unit}",
            comparisons(m, report),
        )

    groups = [[cells(m) for m in group] for group in (raw, service) if group]
    widths = [
        max(len(row[i]) for row in [header, *(r for g in groups for r in g)])
        for i in range(len(header))
    ]
    numeric = {2, 3, 4}

    def line(row: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    lines = [line(header)]
    for group in groups:
        lines.append(rule)
        lines.extend(line(row) for row in group)
    lines.append(rule)
    lines.extend(f"{name}: {value}" for name, value in report.facts)
    if report.legend:
        lines.append("")
        lines.extend(report.legend)
    return "\n".join(lines)

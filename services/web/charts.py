"""Bar charts drawn on the server as inline SVG (the pages' CSP allows no inline script, and
no chart library is needed for bars): budget against actual per line.

Each bar says its figures in words too (a text line above it, and the SVG's title), so the
colour is never the only cue and a screen reader reads the same as the eye.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.parsing import fen_to_yuan

ROW = 46  # height of one line's row in the SVG's own units
WARN_PCT = 90.0  # the funds service warns at 90% used


@dataclass(frozen=True)
class Bar:
    name: str
    budget_fen: int
    actual_fen: int
    budget_w: float  # widths in percent of the chart's bar area
    actual_w: float
    y: int
    caption: str
    over: bool  # at or past the warning threshold

    @property
    def label(self) -> str:
        return f"{self.name}：{self.caption}"


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    height: int
    summary: str


def yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen)} 元"


def budget_chart(lines: list[dict[str, Any]], title: str) -> Chart:
    """Bars of the lines that have a budget or spending (`budget_fen`, `actual_fen`, `name`),
    on one scale: the largest budget or actual fills the width."""
    shown = [line for line in lines if line["budget_fen"] or line["actual_fen"]]
    top = max([max(line["budget_fen"], line["actual_fen"]) for line in shown] or [1]) or 1
    bars = []
    for i, line in enumerate(shown):
        budget, actual = line["budget_fen"], line["actual_fen"]
        pct = round(actual * 100 / budget, 1) if budget > 0 else None
        used = f"，已用 {pct}%" if pct is not None else "，无预算"
        bars.append(
            Bar(
                name=line["name"],
                budget_fen=budget,
                actual_fen=actual,
                budget_w=round(budget * 100 / top, 2),
                actual_w=round(actual * 100 / top, 2),
                y=i * ROW,
                caption=f"支出 {yuan(actual)} / 预算 {yuan(budget)}{used}",
                over=(pct is None and actual > 0) or (pct is not None and pct >= WARN_PCT),
            )
        )
    total_budget = sum(line["budget_fen"] for line in shown)
    total_actual = sum(line["actual_fen"] for line in shown)
    summary = f"{title}：预算合计 {yuan(total_budget)}，支出合计 {yuan(total_actual)}"
    return Chart(bars=bars, height=max(len(bars) * ROW, ROW), summary=summary)

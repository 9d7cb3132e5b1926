"""The chart of accounts (收支科目): data, versioned, loaded from `data/chart-<year>.json`.

The lines follow the national rules for grassroots union funds (the data file cites them);
codes are stable — a later version adds lines, it never renames or reuses a code, because
ledger entries name their line by code forever. A line with sub-lines is a heading: money is
budgeted and posted on the sub-lines (the leaves), and the heading shows their sum.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path

from shared.errors import Invalid

DATA = Path(__file__).with_name("data")
CURRENT = "chart-2018.json"
LINE_CODE = r"^[a-z][a-z_]{1,48}$"  # no dots: codes are keys of stored maps


class LineKind(StrEnum):
    income = "income"  # 收入
    spending = "spending"  # 支出


KIND_ZH = {LineKind.income: "收入", LineKind.spending: "支出"}


@dataclass(frozen=True)
class Line:
    code: str
    name: str
    kind: LineKind
    parent: str | None = None


@dataclass(frozen=True)
class Chart:
    version: str
    effective: date
    source: str
    note: str
    lines: tuple[Line, ...]

    @cached_property
    def _by_code(self) -> dict[str, Line]:
        return {line.code: line for line in self.lines}

    @cached_property
    def _parents(self) -> frozenset[str]:
        return frozenset(line.parent for line in self.lines if line.parent)

    def find(self, code: str) -> Line | None:
        return self._by_code.get(code)

    def children(self, code: str) -> list[Line]:
        return [line for line in self.lines if line.parent == code]

    def is_leaf(self, code: str) -> bool:
        return code not in self._parents

    def leaves(self, kind: LineKind) -> list[Line]:
        return [line for line in self.lines if line.kind is kind and self.is_leaf(line.code)]

    def leaves_codes(self, kind: LineKind) -> frozenset[str]:
        return frozenset(line.code for line in self.leaves(kind))

    def postable(self, code: str, kind: LineKind) -> Line:
        """The leaf line `code` of `kind`, or 422 naming what is wrong with it."""
        line = self.find(code)
        if line is None:
            raise Invalid("funds.unknown_line", f"科目「{code}」不在收支科目表中", line=code)
        if line.kind is not kind:
            raise Invalid(
                "funds.wrong_kind",
                f"科目「{line.name}」是{KIND_ZH[line.kind]}科目，不能记{KIND_ZH[kind]}",
                line=code,
                kind=line.kind.value,
            )
        if not self.is_leaf(code):
            names = "、".join(c.name for c in self.children(code))
            raise Invalid(
                "funds.heading_line",
                f"「{line.name}」是汇总科目，请记到其明细科目：{names}",
                line=code,
            )
        return line

    def name_of(self, code: str) -> str:
        line = self.find(code)
        return line.name if line else code


def parse_chart(text: str) -> Chart:
    """A chart from its JSON text; refuses a file that breaks the rules above."""
    raw = json.loads(text)
    lines = tuple(
        Line(item["code"], item["name"], LineKind(item["kind"]), item.get("parent"))
        for item in raw["lines"]
    )
    codes = [line.code for line in lines]
    bad = [code for code in codes if not re.match(LINE_CODE, code)]
    if bad:
        raise ValueError(f"line codes must match {LINE_CODE}: {bad}")
    if len(set(codes)) != len(codes):
        raise ValueError("a line code appears twice")
    by_code = {line.code: line for line in lines}
    for line in lines:
        if line.parent is not None:
            parent = by_code.get(line.parent)
            if parent is None or parent.kind is not line.kind or parent.parent is not None:
                raise ValueError(f"{line.code}: its parent must be a top line of the same kind")
    return Chart(
        version=raw["version"],
        effective=date.fromisoformat(raw["effective"]),
        source=raw["source"],
        note=raw.get("note", ""),
        lines=lines,
    )


@cache
def current_chart() -> Chart:
    return parse_chart((DATA / CURRENT).read_text(encoding="utf-8"))

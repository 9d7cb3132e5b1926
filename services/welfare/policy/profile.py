"""The policy profile (福利政策标准): data, versioned, loaded from `data/<region>-<year>.json`.

Caps on what the union may give a person — festival gifts per year (and per festival when a
province sets one), birthday, marriage, childbirth, hospitalisation, the death of a member or
of an immediate relative, retirement, Women's Day items for women — which festivals count,
and which forms are refused (cash, shopping cards). Every province and every union sets its
own: the shipped Jiangsu profile is an example whose figures must be checked against the
province's current document before use (the file says so). A new version is a new file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from shared.vocabulary.welfare_plans import Category, Festival, GiftForm

DATA = Path(__file__).with_name("data")
CURRENT = "jiangsu-2024.json"


@dataclass(frozen=True)
class Cap:
    category: Category
    per_year_fen: int
    per_occasion_fen: int | None
    per_festival_fen: int | None
    only_gender: str | None
    basis: str
    example: bool


@dataclass(frozen=True)
class Profile:
    version: str
    region: str
    effective: date
    source: str
    note: str
    example_figures: bool
    refused_forms: frozenset[GiftForm]
    festivals: tuple[Festival, ...]
    caps: dict[Category, Cap]

    def cap(self, category: Category) -> Cap:
        return self.caps[category]


def load(name: str) -> Profile:
    raw = json.loads((DATA / name).read_text(encoding="utf-8"))
    caps = {}
    for code, figures in raw["caps"].items():
        category = Category(code)
        caps[category] = Cap(
            category=category,
            per_year_fen=int(figures["per_year_fen"]),
            per_occasion_fen=figures.get("per_occasion_fen"),
            per_festival_fen=figures.get("per_festival_fen"),
            only_gender=figures.get("only_gender"),
            basis=figures["basis"],
            example=bool(figures.get("example")),
        )
    missing = set(Category) - caps.keys()
    if missing:
        raise ValueError(f"{name}: no cap for {sorted(missing)}")
    return Profile(
        version=raw["version"],
        region=raw["region"],
        effective=date.fromisoformat(raw["effective"]),
        source=raw["source"],
        note=raw["note"],
        example_figures=bool(raw.get("example_figures")),
        refused_forms=frozenset(GiftForm(f) for f in raw["refused_forms"]),
        festivals=tuple(Festival(f) for f in raw["festivals"]),
        caps=caps,
    )


@cache
def current_profile() -> Profile:
    return load(CURRENT)

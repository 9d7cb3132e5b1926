"""A member's children as the member states them (on their own record, `Member.children`):
what the childcare survey (services/members/childcare) counts each round. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, Field

from shared.text import VISIBLE_TEXT, normalize
from shared.timeutil import Day
from shared.vocabulary.members import CareStatus

_OPTIONAL_TEXT = r"^[^\x00-\x1f\x7f-\x9f]*$"  # empty allowed (a blank cell), no control chars


class Child(BaseModel):
    """One child of a member, as the member states it (personal data of a minor: never in an
    event, shown only to the member themself and to admins)."""

    name: str = Field(max_length=32, pattern=VISIBLE_TEXT, description="子女姓名")
    birth_date: Day = Field(description="出生日期")
    care_status: CareStatus = Field(
        description="none 未入托入园 / daycare 托班 / kindergarten 幼儿园 / primary 小学"
    )
    institution: str | None = Field(
        None,
        max_length=64,
        pattern=_OPTIONAL_TEXT,
        description="就读的托育机构、幼儿园或小学；未入托入园时不记录",
    )


def clean_children(children: Iterable[Child]) -> list[Child]:
    """Folded names and institutions, no institution without a care status, no duplicates,
    oldest first — so stating the same children twice is the same list (and no change)."""
    seen: dict[tuple[str, date], Child] = {}
    for child in children:
        status = CareStatus(child.care_status)
        institution = normalize(child.institution or "") if status is not CareStatus.none else ""
        cleaned = Child(
            name=normalize(child.name) or child.name.strip() or child.name,
            birth_date=child.birth_date,
            care_status=status,
            institution=institution or None,
        )
        seen[(cleaned.name, cleaned.birth_date)] = cleaned  # the later statement wins
    return sorted(seen.values(), key=lambda c: (c.birth_date, c.name))

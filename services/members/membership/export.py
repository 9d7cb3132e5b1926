"""A member list as CSV (UTF-8 with BOM, so Chinese Excel opens it) or XLSX, masked as the
caller may see it: the same masking as the API, because the rows are built from MemberPublic.
Every cell goes through shared/export.py, which neutralises formulas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.members.membership.columns import COLUMNS
from shared.export import csv_bytes, xlsx_bytes
from shared.vocabulary.members import Gender, MemberStatus, UnionRole

HEADERS = [header for _, header in COLUMNS]


def cell(field: str, value: Any) -> str:
    if value is None:
        return ""
    if field == "gender":
        return Gender.label_of(str(value))
    if field == "status":
        return MemberStatus(value).label
    if field == "roles":
        return "、".join(UnionRole(r).label for r in value)
    return str(value)


def rows(records: Iterable[dict[str, Any]]) -> Iterable[list[str]]:
    for record in records:
        yield [cell(field, record.get(field)) for field, _ in COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> bytes:
    return csv_bytes(HEADERS, rows(records))


def to_xlsx(records: Iterable[dict[str, Any]]) -> bytes:
    return xlsx_bytes("会员名册", HEADERS, rows(records))

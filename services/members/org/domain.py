"""The school's organisation as data (组织机构): campuses, their departments and small groups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import BaseModel, Field

from shared.aggregate import Aggregate
from shared.errors import NotFound
from shared.events.members import CampusChanged
from shared.text import VISIBLE_TEXT, normalize

CODE_TEXT = r"^[a-z][a-z0-9-]{0,31}$"


class SmallGroup(BaseModel):
    code: str = Field(max_length=32, pattern=CODE_TEXT, description="代码，如 g-art")
    name: str = Field(max_length=64, pattern=VISIBLE_TEXT, description="名称，如「艺术教工小家」")


class CampusDefinition(BaseModel):
    """Command: what a campus is called and which departments and small groups it has."""

    name: str = Field(max_length=64, pattern=VISIBLE_TEXT, description="校区名称")
    departments: list[Annotated[str, Field(max_length=64, pattern=VISIBLE_TEXT)]] = Field(
        default_factory=list, max_length=200, description="部门/系部名称"
    )
    small_groups: list[SmallGroup] = Field(default_factory=list, max_length=200)


class Campus(Aggregate):
    """One campus (its id and its `campus` are the campus code)."""

    name: str
    departments: list[str] = Field(default_factory=list)
    small_groups: list[SmallGroup] = Field(default_factory=list)

    def define(self, cmd: CampusDefinition) -> None:
        """Replace the definition; a no-op when nothing changes."""
        name = normalize(cmd.name)
        departments = _unique(normalize(d) for d in cmd.departments)
        groups = {g.code: SmallGroup(code=g.code, name=normalize(g.name)) for g in cmd.small_groups}
        new = (name, departments, sorted(groups.values(), key=lambda g: g.code))
        if new == (self.name, self.departments, self.small_groups) and self.version:
            return
        self.name, self.departments, self.small_groups = new
        self.record(CampusChanged.of(self, small_groups=[g.model_dump() for g in groups.values()]))

    def require_department(self, department: str) -> None:
        if department not in self.departments:
            raise NotFound(
                "org.unknown_department",
                f"校区「{self.name}」没有部门「{department}」",
                campus=self.campus,
                department=department,
            )

    def require_small_group(self, code: str | None) -> None:
        if code is not None and code not in {g.code for g in self.small_groups}:
            raise NotFound(
                "org.unknown_small_group",
                f"校区「{self.name}」没有教工小家「{code}」",
                campus=self.campus,
                small_group=code,
            )


def new_campus(code: str) -> Campus:
    return Campus(id=code, campus=code, name=code)


def _unique(values: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return list(seen)

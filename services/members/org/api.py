"""Organisation routes: campuses, their departments and small groups (组织机构)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from services.members.deps import Admin
from services.members.org.domain import CODE_TEXT, Campus, CampusDefinition, SmallGroup
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided

Org = Annotated[Organisation, Depends(provided("org"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["组织机构 organisation"])

CampusCode = Annotated[str, Path(pattern=CODE_TEXT, description="校区代码，如 main、north")]


class CampusPublic(BaseModel):
    code: str
    name: str
    departments: list[str]
    small_groups: list[SmallGroup]

    @classmethod
    def of(cls, campus: Campus) -> CampusPublic:
        return cls(
            code=campus.id,
            name=campus.name,
            departments=campus.departments,
            small_groups=campus.small_groups,
        )


@router.get("/campuses")
async def list_campuses(org: Org, user: CurrentUser) -> list[CampusPublic]:
    """Every campus with its departments and small groups; role: any signed-in user."""
    return [CampusPublic.of(c) for c in await org.campuses()]


@router.get("/campuses/{code}")
async def get_campus(code: CampusCode, org: Org, user: CurrentUser) -> CampusPublic:
    """One campus; role: any signed-in user."""
    return CampusPublic.of(await org.campus(code))


@router.put("/campuses/{code}")
async def define_campus(
    code: CampusCode, body: CampusDefinition, org: Org, user: Admin
) -> CampusPublic:
    """Create a campus or replace its departments and small groups; role: admin of it."""
    user.require_campus(code)
    return CampusPublic.of(await org.define(code, body, Actor.of(user)))

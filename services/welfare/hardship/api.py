"""Hardship register routes (困难职工档案): the chair and the campus's cadres only."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from services.welfare.cases.store import names_of
from services.welfare.deps import MEMBER_ID
from services.welfare.hardship.domain import (
    HardshipFile,
    HardshipLevel,
    HardshipStatus,
    ReviewOutcome,
)
from services.welfare.hardship.handlers import Register, add_help, list_files, open_file, review
from services.welfare.hardship.handlers import visible as visible_file
from shared.auth import CurrentUser, Principal, Role
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.text import VISIBLE_TEXT

RegisterDep = Annotated[Register, Depends(provided("hardship"))]

router = APIRouter(prefix="/hardship", responses=PROBLEM_RESPONSES, tags=["困难职工档案 hardship"])

FileId = Annotated[
    str, Path(pattern=r"^h-[A-Za-z0-9_.:-]{1,64}$", description="档案编号：h-<会员编号>")
]
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=VISIBLE_TEXT)]


class ReviewPublic(BaseModel):
    year: int
    outcome: ReviewOutcome
    outcome_label: str
    note: str
    by: str


class HelpPublic(BaseModel):
    year: int
    given_on: date
    what: str
    amount_fen: int
    case_id: str | None


class FilePublic(BaseModel):
    id: str
    member_id: str
    member_name: str | None = Field(None, description="会员姓名（工会主席和本校区工会干部可见）")
    campus: str
    status: HardshipStatus
    status_label: str
    level: HardshipLevel
    level_label: str
    reason: str = Field(description="困难原因（加密保存）")
    opened_on: date
    help: list[HelpPublic]
    help_fen: int = Field(description="历年帮扶合计（分）")
    reviews: list[ReviewPublic]

    @classmethod
    def of(cls, f: HardshipFile, name: str | None = None) -> FilePublic:
        return cls(
            id=f.id,
            member_id=f.member_id,
            member_name=name,
            campus=f.campus,
            status=f.status,
            status_label=f.status.label,
            level=f.level,
            level_label=f.level.label,
            reason=f.reason,
            opened_on=f.opened_on,
            help=[HelpPublic(**h.model_dump(exclude={"by"})) for h in f.help],
            help_fen=f.help_fen(),
            reviews=[
                ReviewPublic(
                    year=r.year,
                    outcome=r.outcome,
                    outcome_label=r.outcome.label,
                    note=r.note,
                    by=r.by,
                )
                for r in f.reviews
            ],
        )


async def _named(
    register: Register, user: Principal, files: list[HardshipFile]
) -> list[FilePublic]:
    # As cases name their members (one query of welfare's directory), for the roles that may
    # read the register: the chair and the campus's cadres (the handlers refuse anyone else).
    names = (
        await names_of(register.directory.coll.database, [f.member_id for f in files])
        if user.has_role(Role.cadre)
        else {}
    )
    return [FilePublic.of(f, names.get(f.member_id)) for f in files]


class OpenBody(BaseModel):
    member_id: str = Field(pattern=MEMBER_ID)
    level: HardshipLevel
    reason: Text = Field(description="困难原因（加密保存）")


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_(body: OpenBody, register: RegisterDep, user: CurrentUser) -> FilePublic:
    """建档 (a closed file is opened again); role: cadre of the member's campus."""
    found = await open_file(register, user, body.member_id, body.level, body.reason.strip())
    return (await _named(register, user, [found]))[0]


@router.get("")
async def list_(
    register: RegisterDep,
    user: CurrentUser,
    status_: Annotated[HardshipStatus | None, Query(alias="status")] = None,
    due_review: Annotated[
        int | None, Query(ge=2000, le=2100, description="只列出该年度尚未复核的")
    ] = None,
) -> list[FilePublic]:
    """困难职工档案; role: cadre (their campuses)."""
    return await _named(register, user, await list_files(register, user, status_, due_review))


@router.get("/{file_id}")
async def get_(file_id: FileId, register: RegisterDep, user: CurrentUser) -> FilePublic:
    """一份档案; role: cadre of the member's campus."""
    return (await _named(register, user, [await visible_file(register, user, file_id)]))[0]


class HelpBody(BaseModel):
    given_on: date
    what: Text = Field(description="帮扶内容")
    amount_fen: int = Field(ge=0, le=10_000_000, description="金额（分），实物为 0")
    case_id: str | None = Field(None, pattern=r"^c-[0-9a-f]{12}$", description="对应慰问事项")


@router.post("/{file_id}/help")
async def help_(
    file_id: FileId, body: HelpBody, register: RegisterDep, user: CurrentUser
) -> FilePublic:
    """记录一次帮扶; role: cadre of the member's campus."""
    found = await add_help(
        register, user, file_id, body.given_on, body.what.strip(), body.amount_fen, body.case_id
    )
    return (await _named(register, user, [found]))[0]


class ReviewBody(BaseModel):
    year: int = Field(ge=2000, le=2100)
    outcome: ReviewOutcome
    note: Text = Field(description="复核意见")


@router.post("/{file_id}/reviews")
async def review_(
    file_id: FileId, body: ReviewBody, register: RegisterDep, user: CurrentUser
) -> FilePublic:
    """年度复核, once a year (409 `hardship.reviewed`); role: cadre of the member's campus."""
    found = await review(register, user, file_id, body.year, body.outcome, body.note.strip())
    return (await _named(register, user, [found]))[0]

"""Policy routes (福利政策标准): the profile in force, running totals, a payment's check."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from services.welfare.deps import MemberId, Year
from services.welfare.policy.domain import Standing, in_words
from services.welfare.policy.handlers import Policy, check, year_totals
from services.welfare.policy.profile import Category, Festival, GiftForm
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided

PolicyDep = Annotated[Policy, Depends(provided("policy"))]

router = APIRouter(prefix="/welfare", responses=PROBLEM_RESPONSES, tags=["福利标准 policy"])

MAX_FEN = 10_000_000_000


class CapPublic(BaseModel):
    category: Category
    label: str
    per_year_fen: int = Field(description="每人每年上限（分）")
    per_occasion_fen: int | None = Field(description="每次上限（分）")
    per_festival_fen: int | None = Field(description="每个节日上限（分）")
    only_gender: str | None = Field(description="只发给（female: 女会员）")
    basis: str = Field(description="依据")
    example: bool = Field(description="示例值：须对照本省现行文件核对")


class ProfilePublic(BaseModel):
    version: str
    region: str
    effective: date
    source: str
    note: str
    example_figures: bool
    refused_forms: list[GiftForm]
    festivals: list[Festival]
    festival_labels: dict[str, str]
    caps: list[CapPublic]


@router.get("/policy")
async def get_policy(policy: PolicyDep, user: CurrentUser) -> ProfilePublic:
    """The policy profile in force (福利标准), with its source; role: any signed-in user."""
    p = policy.caps.profile
    return ProfilePublic(
        version=p.version,
        region=p.region,
        effective=p.effective,
        source=p.source,
        note=p.note,
        example_figures=p.example_figures,
        refused_forms=sorted(p.refused_forms),
        festivals=list(p.festivals),
        festival_labels={f.value: f.label for f in p.festivals},
        caps=[
            CapPublic(
                category=c.category,
                label=c.category.label,
                per_year_fen=c.per_year_fen,
                per_occasion_fen=c.per_occasion_fen,
                per_festival_fen=c.per_festival_fen,
                only_gender=c.only_gender,
                basis=c.basis,
                example=c.example,
            )
            for c in p.caps.values()
        ],
    )


class StandingPublic(BaseModel):
    category: Category
    label: str
    year: int
    cap_fen: int
    used_fen: int
    remaining_fen: int
    remaining_words: str = Field(description="尚余金额大写")


def standing_public(s: Standing) -> StandingPublic:
    return StandingPublic(
        category=s.category,
        label=s.category.label,
        year=s.year,
        cap_fen=s.cap_fen,
        used_fen=s.used_fen,
        remaining_fen=s.remaining_fen,
        remaining_words=in_words(s.remaining_fen),
    )


class YearTotals(BaseModel):
    member_id: str
    year: int
    categories: list[StandingPublic]


@router.get("/caps/{member_id}/{year}")
async def get_year_totals(
    member_id: MemberId, year: Year, policy: PolicyDep, user: CurrentUser
) -> YearTotals:
    """A person's running totals per category against the caps; role: the member (own),
    cadre, finance or auditor of the member's campus."""
    found = await year_totals(policy, user, member_id, year)
    return YearTotals(
        member_id=member_id, year=year, categories=[standing_public(s) for s in found]
    )


class CapCheck(BaseModel):
    member_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    category: Category
    year: int = Field(ge=2000, le=2100)
    amount_fen: int = Field(gt=0, le=MAX_FEN, description="本次金额（分）")
    festival: Festival | None = Field(None, description="节日慰问：哪个节日")


@router.post("/caps/check")
async def check_cap(body: CapCheck, policy: PolicyDep, user: CurrentUser) -> StandingPublic:
    """Would this payment to a person fit their year's cap (422 `welfare.cap_exceeded` with
    cap, used and remaining); changes nothing; role: cadre or finance of the member's
    campus."""
    found = await check(
        policy, user, body.member_id, body.category, body.year, body.amount_fen, body.festival
    )
    return standing_public(found)

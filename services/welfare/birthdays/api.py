"""Birthday routes (生日慰问): a member's benefits and choice, a month's list, a run now."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.welfare.birthdays.domain import (
    BenefitStatus,
    BirthdayBenefit,
    BirthdayGift,
    LedgerStatus,
)
from services.welfare.birthdays.handlers import (
    READERS,
    Birthdays,
    choose,
    mine,
    of_month,
    run_now,
)
from services.welfare.cases.store import names_of
from shared.auth import CurrentUser, Principal
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.timeutil import local_today

BirthdaysDep = Annotated[Birthdays, Depends(provided("birthdays"))]

router = APIRouter(prefix="/birthdays", responses=PROBLEM_RESPONSES, tags=["生日慰问 birthdays"])

MONTH = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
BenefitId = Annotated[
    str, Path(pattern=r"^b-20[0-9]{2}-[A-Za-z0-9_.:-]{1,64}$", description="生日福利编号")
]


class BenefitPublic(PublicModel):
    id: str
    member_id: str
    member_name: str | None = Field(None, description="会员姓名（工会干部查看一个月的名单时可见）")
    campus: str
    month: str
    amount_fen: int
    choose_by: date = Field(description="最后选择日；逾期按默认礼品发放")
    status: BenefitStatus
    status_label: str
    gift: BirthdayGift | None
    gift_label: str | None
    chosen_at: LocalDatetime | None
    gifts: dict[str, str] = Field(description="可选礼品")
    ledger: LedgerStatus = Field(description="记入校区经费台账（生日慰问）与否")
    ledger_label: str
    ledger_batch: str | None = Field(
        description="支付它的生日慰问批次（台账中该笔支出的幂等键，事由引用 "
        "welfare.birthday-batch:<批次>）；每校区每批一笔支出"
    )
    ledger_seq: int | None = Field(description="台账中该批次支出的序号；未记账为空")
    ledger_problem_code: str | None = Field(
        description="未记账的原因代码（funds.no_budget 预算未批准 / funds.over_budget 预算不足）"
    )
    ledger_problem: str | None = Field(description="未记账的原因；补足预算后再次发放即补记")


def benefit_public(b: BirthdayBenefit, name: str | None = None) -> BenefitPublic:
    # Every benefit offers the same gifts: the member's form lists them with its choice.
    return BenefitPublic.of(b, member_name=name, gifts=BirthdayGift.labels())


async def _named(
    birthdays: Birthdays, user: Principal, found: list[BirthdayBenefit]
) -> list[BenefitPublic]:
    # As cases name their members (one query of welfare's directory), for the roles that may
    # read a month's list (the handlers refuse anyone else).
    names = (
        await names_of(birthdays.directory.coll.database, [b.member_id for b in found])
        if user.has_role(*READERS)
        else {}
    )
    return [benefit_public(b, names.get(b.member_id)) for b in found]


@router.get("/mine")
async def my_benefits(birthdays: BirthdaysDep, user: CurrentUser) -> list[BenefitPublic]:
    """我的生日福利; role: member."""
    return [benefit_public(b) for b in await mine(birthdays, user)]


class ChoiceBody(BaseModel):
    gift: BirthdayGift


@router.post("/{benefit_id}/choice")
async def choice(
    benefit_id: BenefitId, body: ChoiceBody, birthdays: BirthdaysDep, user: CurrentUser
) -> BenefitPublic:
    """选择生日礼品 until the last day (409 `birthday.closed` after); role: the member."""
    return benefit_public(await choose(birthdays, user, benefit_id, body.gift))


@router.get("")
async def month_list(
    birthdays: BirthdaysDep,
    user: CurrentUser,
    month: Annotated[str | None, Query(pattern=MONTH, description="月份 YYYY-MM；空为本月")] = None,
) -> list[BenefitPublic]:
    """一个月的生日福利; role: cadre, finance or auditor (their campuses)."""
    today = local_today()
    chosen = month or f"{today.year:04d}-{today.month:02d}"
    return await _named(birthdays, user, await of_month(birthdays, user, chosen))


class RunBody(BaseModel):
    month: str = Field(pattern=MONTH, description="月份 YYYY-MM")


class RunPublic(BaseModel):
    month: str
    born: int = Field(description="本月生日的在会会员")
    offered: int = Field(description="本次新发的生日福利（重复执行为 0）")
    over_cap: int = Field(description="年度限额已满而未发的会员")
    unposted: int = Field(
        description="本月生日福利中预算不足、本次仍未记账的（调整预算后再次执行即补记）"
    )


@router.post("/runs")
async def run(body: RunBody, birthdays: BirthdaysDep, user: CurrentUser) -> RunPublic:
    """立即发放某月生日福利 and post to the ledger what the budget refused before (the job
    does it on the 1st; safe to repeat); role: admin of the whole school."""
    result = await run_now(birthdays, user, body.month)
    return RunPublic(
        month=result.month,
        born=result.born,
        offered=result.offered,
        over_cap=result.over_cap,
        unposted=result.unposted,
    )

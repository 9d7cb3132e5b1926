"""Pure rules of the annual plan (年度工作计划 / 工作要点).

A plan is one aggregate per year and scope (a campus, or `*` for the school-wide plan), its
items inside it: a plan is small (the 2023 table has 18 items) and is changed by a handful of
cadres, so one version counter for the whole plan costs nothing, and every change — an
item added, edited, linked, moved on — is one versioned insert with its event on
`events.plan`. Ids are derived (`pl-2023`, `pl-2024-main`; items `01`, `02` …), so loading
the source table twice, or copying a plan into the next year twice, writes it once.

Whether an item is overdue is a question of today's date in Asia/Shanghai: `overdue` and
`month_summary` take that date as an argument, so they are pure and tested without a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from shared.aggregate import Aggregate
from shared.errors import Conflict, NotFound
from shared.events.events import (
    PlanCreated,
    PlanItemAdded,
    PlanItemChanged,
    PlanItemFacts,
    PlanItemStatusChanged,
)
from shared.text import VISIBLE_TEXT, normalize
from shared.vocabulary.events import PlanItemStatus as ItemStatus

ALL = "*"
SCOPE_TEXT = r"^(\*|[a-z][a-z0-9-]{0,31})$"
PLAN_ID = r"^pl-[0-9]{4}(-[a-z][a-z0-9-]{0,31})?$"
ITEM_ID = r"^[0-9]{2,3}$"
LINK_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
TEXT_BLOCK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_ITEMS = 200


# Where an item may go from each status: done and cancelled can be reopened (a mistake, or
# the work came back), but nothing jumps from cancelled straight to done.
MOVES: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.planned: frozenset({ItemStatus.in_progress, ItemStatus.done, ItemStatus.cancelled}),
    ItemStatus.in_progress: frozenset({ItemStatus.planned, ItemStatus.done, ItemStatus.cancelled}),
    ItemStatus.done: frozenset({ItemStatus.in_progress}),
    ItemStatus.cancelled: frozenset({ItemStatus.planned}),
}


class LinkKind(StrEnum):
    activity = "activity"  # 活动 (checked: it exists and is in the plan's scope)
    survey = "survey"  # 问卷 / 意见征集 (by id)
    welfare_plan = "welfare_plan"  # 福利发放方案 (by id)


class Link(BaseModel):
    kind: LinkKind
    id: str


def plan_id_for(year: int, campus: str) -> str:
    return f"pl-{year}" if campus == ALL else f"pl-{year}-{campus}"


# -- commands ---------------------------------------------------------------------------------


class _Months(BaseModel):
    month_from: int = Field(ge=1, le=12, description="起始月份")
    month_to: int | None = Field(None, ge=1, le=12, description="结束月份；空为同起始月份")


class ItemText(_Months):
    """Command: a new item (工作要点)."""

    title: str = Field(max_length=200, pattern=VISIBLE_TEXT, description="重点工作内容")
    detail: str = Field("", max_length=2000, pattern=TEXT_BLOCK, description="说明 / 备注")
    owner: str = Field("", max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$", description="负责人")


class EditItem(BaseModel):
    """Command: change an item's text, months or owner (only the fields sent)."""

    title: str | None = Field(None, max_length=200, pattern=VISIBLE_TEXT)
    detail: str | None = Field(None, max_length=2000, pattern=TEXT_BLOCK)
    owner: str | None = Field(None, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")
    month_from: int | None = Field(None, ge=1, le=12)
    month_to: int | None = Field(None, ge=1, le=12)


class NewPlan(BaseModel):
    """Command: start an empty plan for a year and scope."""

    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR, description="年度")
    campus: str = Field(max_length=32, pattern=SCOPE_TEXT, description="校区代码；* 为全校计划")
    title: str | None = Field(None, max_length=100, pattern=VISIBLE_TEXT, description="计划名称")


# -- the aggregate ----------------------------------------------------------------------------


class PlanItem(BaseModel):
    id: str
    month_from: int
    month_to: int
    title: str
    detail: str = ""
    owner: str = ""
    status: ItemStatus = ItemStatus.planned
    links: list[Link] = Field(default_factory=list)
    revision: int = 0  # counts the item's own changes: the calendar's SEQUENCE
    changed_at: datetime | None = None

    @model_validator(mode="after")
    def _months_in_order(self) -> PlanItem:
        if self.month_to < self.month_from:
            raise ValueError("month_to before month_from")
        return self

    def months(self) -> str:
        if self.month_from == self.month_to:
            return f"{self.month_from}月"
        return f"{self.month_from}-{self.month_to}月"


class Plan(Aggregate):
    """An annual plan of one scope (`campus`: a campus code, or `*` for the school)."""

    year: int
    title: str
    items: list[PlanItem] = Field(default_factory=list)
    copied_from: str | None = None
    created_by: str = ""

    @property
    def plan_id(self) -> str:
        return self.id

    def item(self, item_id: str) -> PlanItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFound("plan.item_not_found", "未找到该工作要点", plan=self.id, item=item_id)

    def _facts(self, event: type[PlanItemFacts], item: PlanItem, **extra: object) -> PlanItemFacts:
        return event(
            plan_id=self.id,
            year=self.year,
            campus=self.campus,
            item_id=item.id,
            title=item.title,
            month_from=item.month_from,
            month_to=item.month_to,
            owner=item.owner,
            status=item.status.value,
            **extra,
        )

    def _touch(self, item: PlanItem, now: datetime) -> None:
        item.revision += 1
        item.changed_at = now

    def add_item(self, text: ItemText, now: datetime) -> PlanItem:
        if len(self.items) >= MAX_ITEMS:
            raise Conflict("plan.too_many_items", f"一个计划最多 {MAX_ITEMS} 项工作要点")
        month_to = months_checked(text.month_from, text.month_to)
        number = max((int(i.id) for i in self.items), default=0) + 1
        item = PlanItem(
            id=f"{number:02d}",
            month_from=text.month_from,
            month_to=month_to,
            title=normalize(text.title),
            detail=text.detail.strip(),
            owner=normalize(text.owner),
            changed_at=now,
        )
        self.items.append(item)
        self.record(self._facts(PlanItemAdded, item))
        return item

    def edit_item(self, item_id: str, cmd: EditItem, now: datetime) -> PlanItem:
        item = self.item(item_id)
        given = {k: v for k, v in cmd.model_dump(exclude_unset=True).items() if v is not None}
        if "title" in given:
            given["title"] = normalize(given["title"])
        if "owner" in given:
            given["owner"] = normalize(given["owner"])
        if "detail" in given:
            given["detail"] = given["detail"].strip()
        month_from = given.get("month_from", item.month_from)
        month_to = given.get("month_to", item.month_to)
        if "month_from" in given and "month_to" not in given and month_to < month_from:
            month_to = month_from  # moving a one-month item later moves its end too
        given["month_to"] = months_checked(month_from, month_to)
        changed = sorted(k for k, v in given.items() if getattr(item, k) != v)
        for key in changed:
            setattr(item, key, given[key])
        if changed:
            self._touch(item, now)
            self.record(self._facts(PlanItemChanged, item, changed=changed))
        return item

    def move_item(self, item_id: str, to: ItemStatus, now: datetime) -> PlanItem:
        item = self.item(item_id)
        if item.status is to:
            return item  # already there: nothing to record
        if to not in MOVES[item.status]:
            raise Conflict(
                "plan.invalid_transition",
                f"工作要点当前为「{item.status.label}」，不能改为「{to.label}」",
                current=item.status.value,
                wanted=to.value,
            )
        previous = item.status
        item.status = to
        self._touch(item, now)
        self.record(self._facts(PlanItemStatusChanged, item, previous=previous.value))
        return item

    def link(self, item_id: str, link: Link, now: datetime) -> PlanItem:
        item = self.item(item_id)
        if link in item.links:
            return item
        if len(item.links) >= 50:
            raise Conflict("plan.too_many_links", "一项工作要点最多关联 50 项")
        item.links.append(link)
        self._touch(item, now)
        self.record(self._facts(PlanItemChanged, item, changed=["links"]))
        return item

    def unlink(self, item_id: str, link: Link, now: datetime) -> PlanItem:
        item = self.item(item_id)
        if link not in item.links:
            return item
        item.links.remove(link)
        self._touch(item, now)
        self.record(self._facts(PlanItemChanged, item, changed=["links"]))
        return item


def months_checked(month_from: int, month_to: int | None) -> int:
    """The end month of a span (409 when it ends before it starts: the year does not wrap)."""
    end = month_from if month_to is None else month_to
    if end < month_from:
        raise Conflict(
            "plan.invalid_months",
            "结束月份不能早于起始月份（跨年的工作请分别写入两个年度）",
            month_from=month_from,
            month_to=end,
        )
    return end


def default_title(year: int, campus: str) -> str:
    return f"{year}年度工会工作要点" if campus == ALL else f"{year}年度工会工作要点（{campus}）"


def new_plan(
    year: int,
    campus: str,
    title: str | None,
    items: Iterable[PlanItem],
    by: str,
    now: datetime,
    copied_from: str | None = None,
) -> Plan:
    plan = Plan(
        id=plan_id_for(year, campus),
        campus=campus,
        year=year,
        title=normalize(title) if title else default_title(year, campus),
        items=[i.model_copy(update={"changed_at": now}) for i in items],
        copied_from=copied_from,
        created_by=by,
    )
    plan.record(PlanCreated.of(plan, items=len(plan.items)))
    for item in plan.items:
        plan.record(plan._facts(PlanItemAdded, item))
    return plan


def copy_into_next_year(plan: Plan, by: str, now: datetime) -> Plan:
    """Next year's plan with the same items in the same months, all `planned` again.

    Links are left behind: they name last year's activities, surveys and welfare plans.
    """
    year = plan.year + 1
    if year > LAST_YEAR:
        raise Conflict("plan.invalid_year", f"年度应在 {FIRST_YEAR} 至 {LAST_YEAR} 之间")
    items = [
        PlanItem(
            id=i.id,
            month_from=i.month_from,
            month_to=i.month_to,
            title=i.title,
            detail=i.detail,
            owner=i.owner,
        )
        for i in plan.items
    ]
    title = plan.title.replace(str(plan.year), str(year), 1)
    return new_plan(year, plan.campus, title, items, by, now, copied_from=plan.id)


# -- overdue and the month summary ------------------------------------------------------------


def overdue(year: int, item: PlanItem, today: date) -> bool:
    """Its last month has passed (in the school's calendar) and it is neither done nor
    cancelled (a cancelled item is not late: nobody is to do it any more)."""
    if item.status in (ItemStatus.done, ItemStatus.cancelled):
        return False
    return (year, item.month_to) < (today.year, today.month)


class MonthCount(BaseModel):
    month: int = Field(description="月份（按工作要点的结束月份计）")
    done: int = Field(description="已完成")
    overdue: int = Field(description="已过期未完成")
    upcoming: int = Field(description="未到期未完成（含本月）")
    cancelled: int = Field(description="已取消")


def month_summary(year: int, items: Iterable[PlanItem], today: date) -> list[MonthCount]:
    """Per month (the month an item is due, its last), how many are done, overdue, upcoming;
    only months that have items, in order."""
    counts: dict[int, dict[str, int]] = {}
    for item in items:
        row = counts.setdefault(
            item.month_to, {"done": 0, "overdue": 0, "upcoming": 0, "cancelled": 0}
        )
        if item.status is ItemStatus.done:
            row["done"] += 1
        elif item.status is ItemStatus.cancelled:
            row["cancelled"] += 1
        elif overdue(year, item, today):
            row["overdue"] += 1
        else:
            row["upcoming"] += 1
    return [MonthCount(month=m, **counts[m]) for m in sorted(counts)]


def month_span(year: int, item: PlanItem) -> tuple[date, date]:
    """The item's days as a calendar shows them: its first day, and the day after its last."""
    end = date(year + 1, 1, 1) if item.month_to == 12 else date(year, item.month_to + 1, 1)
    return date(year, item.month_from, 1), end


# -- the source table -------------------------------------------------------------------------


class SourceItem(BaseModel):
    """One task of the source table as the data file has it."""

    id: str = Field(pattern=ITEM_ID)
    month_from: int = Field(ge=1, le=12)
    month_to: int = Field(ge=1, le=12)
    title: str
    detail: str = ""
    source: str = Field(description="the row of the table it comes from, as written there")


class SourcePlan(BaseModel):
    year: int
    campus: Literal["*"]
    title: str
    source: str
    items: list[SourceItem]


def plan_from_source(source: SourcePlan, by: str, now: datetime) -> Plan:
    items = [
        PlanItem(
            id=s.id,
            month_from=s.month_from,
            month_to=s.month_to,
            title=s.title,
            detail=s.detail,
        )
        for s in source.items
    ]
    return new_plan(source.year, source.campus, source.title, items, by, now)

"""Annual plan routes (年度工作计划): each turns a request into a command or a scoped query."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from services.events.activities.api import Catalog
from services.events.deps import Admin, Cadre
from services.events.plans.domain import (
    ITEM_ID,
    LINK_ID,
    PLAN_ID,
    SCOPE_TEXT,
    EditItem,
    ItemStatus,
    ItemText,
    Link,
    LinkKind,
    MonthCount,
    NewPlan,
    Plan,
    PlanItem,
    month_summary,
    overdue,
)
from services.events.plans.handlers import (
    add_item,
    copy_plan,
    edit_item,
    link_item,
    load_source,
    move_item,
    start_plan,
)
from services.events.plans.store import SOURCE_YEARS, PlanBook, visible_scope
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local, local_today

Plans = Annotated[PlanBook, Depends(provided("plans"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["年度计划 annual plan"])

PlanId = Annotated[str, Path(pattern=PLAN_ID, description="计划编号，如 pl-2023、pl-2024-main")]
ItemId = Annotated[str, Path(pattern=ITEM_ID, description="工作要点编号，如 03")]
MAX_OFFSET = 1_000_000


class LinkPublic(BaseModel):
    kind: LinkKind = Field(description="activity 活动 / survey 问卷 / welfare_plan 福利方案")
    id: str


class PlanItemPublic(BaseModel):
    id: str
    month_from: int
    month_to: int
    months: str = Field(description="月份（如 3月、7-8月）")
    title: str
    detail: str
    owner: str
    status: ItemStatus
    status_label: str
    overdue: bool = Field(description="月份已过仍未完成（按北京时间的今天）")
    links: list[LinkPublic]
    revision: int = Field(description="本项变更次数")
    changed_at: datetime | None = Field(description="最近变更（北京时间）")

    @classmethod
    def of(cls, plan: Plan, item: PlanItem, today: date) -> PlanItemPublic:
        return cls(
            **item.model_dump(
                include={"id", "month_from", "month_to", "title", "detail", "owner", "status"}
            ),
            months=item.months(),
            status_label=item.status.label,
            overdue=overdue(plan.year, item, today),
            links=[LinkPublic(kind=link.kind, id=link.id) for link in item.links],
            revision=item.revision,
            changed_at=as_local(item.changed_at) if item.changed_at else None,
        )


class PlanPublic(BaseModel):
    id: str
    version: int
    year: int
    campus: str = Field(description="校区代码；* 为全校计划")
    title: str
    copied_from: str | None
    items_total: int


class PlanView(PlanPublic):
    today: date = Field(description="判断过期所用的今天（北京时间）")
    items: list[PlanItemPublic]
    summary: list[MonthCount] = Field(description="按月：已完成 / 已过期 / 未到期")


def plan_public(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "version": plan.version,
        "year": plan.year,
        "campus": plan.campus,
        "title": plan.title,
        "copied_from": plan.copied_from,
        "items_total": len(plan.items),
    }


def plan_view(plan: Plan, today: date | None = None) -> PlanView:
    today = today or local_today()
    items = sorted(plan.items, key=lambda i: (i.month_from, i.month_to, i.id))
    return PlanView(
        **plan_public(plan),
        today=today,
        items=[PlanItemPublic.of(plan, i, today) for i in items],
        summary=month_summary(plan.year, plan.items, today),
    )


class PlanPage(BaseModel):
    items: list[PlanPublic]
    total: int
    limit: int
    offset: int


def _links(operations: dict[str, str], source: str = "$response.body#/id") -> dict[str, Any]:
    return {
        name: {"operationId": op, "parameters": {"plan_id": source}}
        for name, op in operations.items()
    }


PLAN_LINKS: dict[int | str, dict[str, Any]] = {
    201: {
        "links": _links(
            {
                "GetPlan": "get_plan_plans__plan_id__get",
                "CopyPlan": "copy_plans__plan_id__copy_post",
                "AddItem": "add_plan_item_plans__plan_id__items_post",
            }
        )
    }
}


@router.get("/plans")
async def list_plans(
    plans: Plans,
    user: CurrentUser,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    campus: Annotated[str | None, Query(max_length=32, pattern=SCOPE_TEXT)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PlanPage:
    """Annual plans, newest year first: a member's campuses' plans and the school-wide one;
    role: any signed-in user."""
    query = visible_scope(user)
    if year is not None:
        query["year"] = year
    if campus is not None:
        query = {"$and": [query, {"campus": campus}]} if query else {"campus": campus}
    items, total = await plans.page(query, limit, offset)
    return PlanPage(
        items=[PlanPublic(**plan_public(p)) for p in items], total=total, limit=limit, offset=offset
    )


@router.post("/plans", status_code=status.HTTP_201_CREATED, responses=PLAN_LINKS)
async def create_plan(body: NewPlan, plans: Plans, user: Cadre) -> PlanView:
    """Start an empty plan for a year (409 `plan.exists` when there is one); role: cadre of
    its campus (school-wide: of `*`)."""
    return plan_view(await start_plan(body, plans, user))


@router.post(
    "/plans/source/{year}",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "已加载过：原样返回"}, **PLAN_LINKS},
)
async def load_source_plan(
    year: Annotated[
        int,
        Path(ge=min(SOURCE_YEARS), le=max(SOURCE_YEARS), description="原始工作计划附件表的年度"),
    ],
    plans: Plans,
    user: Admin,
    response: Response,
) -> PlanView:
    """Load the source work plan's table (附件：年度工会工作要点) as that year's school-wide
    plan; a second load changes nothing (200); role: admin of the whole school."""
    plan, created = await load_source(year, plans, user)
    if not created:
        response.status_code = status.HTTP_200_OK
    return plan_view(plan)


@router.get("/plans/{plan_id}")
async def get_plan(plan_id: PlanId, plans: Plans, user: CurrentUser) -> PlanView:
    """One plan with its items, overdue ones flagged, and the month summary; role: any
    signed-in user of its campus (the school-wide plan: everyone)."""
    return plan_view(await plans.visible(plan_id, user))


@router.post(
    "/plans/{plan_id}/copy",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "下一年度的计划已存在：原样返回"}},
)
async def copy(plan_id: PlanId, plans: Plans, user: Cadre, response: Response) -> PlanView:
    """Copy the plan into the next year, months kept, every item planned again, links left
    behind; a second copy changes nothing (200); role: cadre of its campus."""
    plan, created = await copy_plan(plan_id, plans, user)
    if not created:
        response.status_code = status.HTTP_200_OK
    return plan_view(plan)


ITEM_LINKS: dict[int | str, dict[str, Any]] = {
    201: {
        "links": {
            name: {
                "operationId": op,
                "parameters": {
                    "plan_id": "$request.path.plan_id",
                    "item_id": "$response.body#/id",
                },
            }
            for name, op in {
                "ChangeItem": "change_plan_item_plans__plan_id__items__item_id__patch",
                "SetStatus": "set_item_status_plans__plan_id__items__item_id__status_post",
                "Link": "link_plan_item_plans__plan_id__items__item_id__links_post",
            }.items()
        }
    }
}


@router.post("/plans/{plan_id}/items", status_code=status.HTTP_201_CREATED, responses=ITEM_LINKS)
async def add_plan_item(
    plan_id: PlanId, body: ItemText, plans: Plans, user: Cadre
) -> PlanItemPublic:
    """Add an item (工作要点) for a month or a span of months; role: cadre of its campus."""
    return await _item_answer(plans, plan_id, await add_item(plan_id, body, plans, user))


async def _item_answer(plans: Plans, plan_id: str, item: PlanItem) -> PlanItemPublic:
    plan = await plans.store.require(plan_id)
    return PlanItemPublic.of(plan, item, local_today())


@router.patch("/plans/{plan_id}/items/{item_id}")
async def change_plan_item(
    plan_id: PlanId, item_id: ItemId, body: EditItem, plans: Plans, user: Cadre
) -> PlanItemPublic:
    """Change an item's text, months or owner (only the fields sent); role: cadre of its
    campus."""
    return await _item_answer(plans, plan_id, await edit_item(plan_id, item_id, body, plans, user))


class StatusChange(BaseModel):
    status: ItemStatus = Field(description="planned / in_progress / done / cancelled")


@router.post("/plans/{plan_id}/items/{item_id}/status")
async def set_item_status(
    plan_id: PlanId, item_id: ItemId, body: StatusChange, plans: Plans, user: Cadre
) -> PlanItemPublic:
    """Move an item on (计划中 → 进行中 → 已完成, or 已取消; done and cancelled can be
    reopened); role: cadre of its campus."""
    return await _item_answer(
        plans, plan_id, await move_item(plan_id, item_id, body.status, plans, user)
    )


class LinkBody(BaseModel):
    kind: LinkKind = Field(
        description="activity 活动（须存在且在计划范围内）/ survey / welfare_plan"
    )
    id: str = Field(max_length=64, pattern=LINK_ID, description="所关联记录的编号")


@router.post("/plans/{plan_id}/items/{item_id}/links")
async def link_plan_item(
    plan_id: PlanId,
    item_id: ItemId,
    body: LinkBody,
    plans: Plans,
    catalog: Catalog,
    user: Cadre,
) -> PlanItemPublic:
    """Link the activity, survey or welfare plan that carries the item out (an activity must
    exist and be in the plan's scope, else 409); twice is once; role: cadre of its campus."""
    link = Link(kind=body.kind, id=body.id)
    item = await link_item(plan_id, item_id, link, plans, catalog, user)
    return await _item_answer(plans, plan_id, item)


@router.delete("/plans/{plan_id}/items/{item_id}/links/{kind}/{link_id}")
async def unlink_plan_item(
    plan_id: PlanId,
    item_id: ItemId,
    kind: LinkKind,
    link_id: Annotated[str, Path(max_length=64, pattern=LINK_ID)],
    plans: Plans,
    catalog: Catalog,
    user: Cadre,
) -> PlanItemPublic:
    """Remove a link (nothing happens when it is not there); role: cadre of its campus."""
    link = Link(kind=kind, id=link_id)
    item = await link_item(plan_id, item_id, link, plans, catalog, user, remove=True)
    return await _item_answer(plans, plan_id, item)

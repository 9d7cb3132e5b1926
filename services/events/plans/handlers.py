"""Annual plan use cases: start a plan, load the source table, copy into the next year, add,
edit, move on and link items.

Who may change a plan: a cadre of its campus; the school-wide plan (`*`) a cadre of the whole
school or an admin. Everyone signed in reads their campuses' plans and the school's. Each
change is decided on the plan's current state and written as its next version; creating a plan
inserts its first version under a derived id, so two loads or copies racing write it once and
the loser answers with what the winner wrote.
"""

from __future__ import annotations

from collections.abc import Callable

from services.events.activities.store import ActivityCatalog
from services.events.activities.store import can_see as can_see_activity
from services.events.plans.domain import (
    ALL,
    EditItem,
    ItemStatus,
    ItemText,
    Link,
    LinkKind,
    NewPlan,
    Plan,
    PlanItem,
    copy_into_next_year,
    new_plan,
    plan_from_source,
)
from services.events.plans.store import NOT_FOUND, PlanBook, can_see, source_plan
from shared.aggregate import Actor, AlreadyExists
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.timeutil import utcnow_ms as utcnow


async def _add_once(book: PlanBook, plan: Plan, actor: Actor, action: str) -> tuple[Plan, bool]:
    """Write a new plan; when its id exists already, the plan that is there (False)."""
    added = await book.store.add_if_absent(plan, actor, action)
    return added.aggregate, added.created


async def start_plan(cmd: NewPlan, book: PlanBook, user: Principal) -> Plan:
    campus = cmd.campus.strip()
    user.require_campus(campus)
    plan = new_plan(cmd.year, campus, cmd.title, [], user.subject, utcnow())
    try:
        return await book.store.add(plan, Actor.of(user), "create")
    except AlreadyExists as exc:
        raise Conflict(
            "plan.exists", f"{cmd.year}年度的计划已存在", id=plan.id, year=cmd.year
        ) from exc


async def load_source(year: int, book: PlanBook, user: Principal) -> tuple[Plan, bool]:
    """The source work plan's table as the plan of its year (school-wide); once."""
    user.require_campus(ALL)
    plan = plan_from_source(source_plan(year), user.subject, utcnow())
    return await _add_once(book, plan, Actor.of(user), "load_source")


async def copy_plan(plan_id: str, book: PlanBook, user: Principal) -> tuple[Plan, bool]:
    """Copy a plan into the next year (same scope, same months); once."""
    plan = await book.visible(plan_id, user)
    user.require_campus(plan.campus)
    copy = copy_into_next_year(plan, user.subject, utcnow())
    return await _add_once(book, copy, Actor.of(user), "copy")


async def change_plan(
    book: PlanBook,
    plan_id: str,
    action: str,
    decide: Callable[[Plan], object],
    user: Principal,
) -> Plan:
    def checked(plan: Plan) -> None:
        if not can_see(user, plan):
            raise NotFound(*NOT_FOUND, id=plan_id)
        user.require_campus(plan.campus)
        decide(plan)

    return await book.store.change(plan_id, checked, Actor.of(user), action)


async def add_item(plan_id: str, cmd: ItemText, book: PlanBook, user: Principal) -> PlanItem:
    added: list[PlanItem] = []
    await change_plan(
        book, plan_id, "add_item", lambda p: added.append(p.add_item(cmd, utcnow())), user
    )
    return added[-1]


async def edit_item(
    plan_id: str, item_id: str, cmd: EditItem, book: PlanBook, user: Principal
) -> PlanItem:
    plan = await change_plan(
        book, plan_id, "edit_item", lambda p: p.edit_item(item_id, cmd, utcnow()), user
    )
    return plan.item(item_id)


async def move_item(
    plan_id: str, item_id: str, to: ItemStatus, book: PlanBook, user: Principal
) -> PlanItem:
    plan = await change_plan(
        book, plan_id, f"item_{to.value}", lambda p: p.move_item(item_id, to, utcnow()), user
    )
    return plan.item(item_id)


def in_plan_scope(plan: Plan, activity_campus: str) -> bool:
    """A campus plan's items are carried out by its campus's or the school's activities; the
    school-wide plan's by any."""
    return plan.campus == ALL or activity_campus in (plan.campus, ALL)


async def link_item(
    plan_id: str,
    item_id: str,
    link: Link,
    book: PlanBook,
    catalog: ActivityCatalog,
    user: Principal,
    *,
    remove: bool = False,
) -> PlanItem:
    if link.kind is LinkKind.activity and not remove:
        plan = await book.visible(plan_id, user)
        activity = await catalog.get(link.id)
        if (
            activity is None
            or not can_see_activity(user, activity)
            or not in_plan_scope(plan, activity.campus)
        ):
            # 409, not 404: the plan item exists; what the body names cannot be linked to it.
            raise Conflict(
                "plan.link_unknown_activity", "未找到该活动，或它不属于本计划的范围", id=link.id
            )
    now = utcnow()
    if remove:
        plan = await change_plan(
            book, plan_id, "unlink", lambda p: p.unlink(item_id, link, now), user
        )
    else:
        plan = await change_plan(book, plan_id, "link", lambda p: p.link(item_id, link, now), user)
    return plan.item(item_id)

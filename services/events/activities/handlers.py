"""Activity use cases: draft, change, publish, close sign-up, complete, cancel.

Each lifecycle step is decided on the activity's current state (the aggregate change pattern),
after checking that the caller may manage it: a cadre of the activity's campus, or for a
school-wide activity a cadre of the whole school (`*`) or an admin.
"""

from __future__ import annotations

from collections.abc import Callable

from services.events.activities.domain import Activity, DraftActivity, EditActivity, draft
from services.events.activities.store import NOT_FOUND, ActivityCatalog, can_see
from shared.aggregate import Actor
from shared.auth import Principal
from shared.errors import NotFound
from shared.timeutil import utcnow_ms as utcnow


def manager_check(user: Principal) -> Callable[[Activity], None]:
    """The caller manages the activity: visible to them (else 404) and on their campus (403)."""

    def check(activity: Activity) -> None:
        if not can_see(user, activity):
            raise NotFound(*NOT_FOUND, id=activity.id)
        user.require_campus(activity.campus)

    return check


async def draft_activity(cmd: DraftActivity, catalog: ActivityCatalog, user: Principal) -> Activity:
    user.require_campus(cmd.campus.strip())
    return await catalog.add(draft(cmd, user.subject), Actor.of(user))


async def step(
    catalog: ActivityCatalog,
    activity_id: str,
    action: str,
    decide: Callable[[Activity], None],
    user: Principal,
) -> Activity:
    check = manager_check(user)

    def decide_checked(activity: Activity) -> None:
        check(activity)
        decide(activity)

    changed = await catalog.store.change(activity_id, decide_checked, Actor.of(user), action)
    catalog.remember(changed)
    return changed


def decision(action: str, reason: str | None = None) -> Callable[[Activity], None]:
    now = utcnow()
    steps: dict[str, Callable[[Activity], None]] = {
        "publish": lambda a: a.publish(now),
        "close": lambda a: a.close_registration(),
        "complete": lambda a: a.complete(now),
        "cancel": lambda a: a.cancel(reason or ""),
    }
    return steps[action]


async def edit_activity(
    activity_id: str, cmd: EditActivity, catalog: ActivityCatalog, user: Principal
) -> Activity:
    return await step(catalog, activity_id, "edit", lambda a: a.edit(cmd), user)

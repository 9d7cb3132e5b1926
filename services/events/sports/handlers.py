"""Sports meet use cases: set up the meet of a sports-meet activity, add items, enter and
withdraw, record results, publish them.

A cadre of the activity's campus runs the meet; a member enters items for themself (a cadre
may enter a member of their campus). Entries are open while the activity is published (its
sign-up runs); results can be recorded once it is published and until it is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.events.activities.domain import Activity, ActivityKind, ActivityStatus
from services.events.sports.domain import (
    ChangeRules,
    ItemKind,
    MeetItem,
    NewItem,
    ResultIn,
    SetUpMeet,
    SportsMeet,
    ranked,
    set_up,
)
from services.events.sports.store import MeetBook
from shared.aggregate import Actor, AlreadyExists
from shared.auth import Principal, Role
from shared.errors import Conflict, Invalid, NotFound
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import utcnow_ms as utcnow

ENTERING = frozenset({ActivityStatus.published})
RESULTS = frozenset(
    {ActivityStatus.published, ActivityStatus.registration_closed, ActivityStatus.completed}
)
MEMBERS_WHO_ENTER = frozenset({"active", "retired"})


def managed(user: Principal, activity: Activity) -> None:
    """The caller runs the meet: a cadre of the activity's campus (school-wide: of `*`)."""
    user.require(Role.cadre, campus=activity.campus)


async def set_up_meet(
    activity: Activity, cmd: SetUpMeet, book: MeetBook, user: Principal
) -> SportsMeet:
    managed(user, activity)
    if activity.kind is not ActivityKind.sports_meet:
        raise Conflict(
            "meet.not_a_sports_meet", "只有「运动会」类型的活动才能设置比赛项目", id=activity.id
        )
    if activity.status is ActivityStatus.cancelled:
        raise Conflict("meet.activity_cancelled", "活动已取消", id=activity.id)
    meet = set_up(activity.id, activity.campus, activity.title, cmd)
    try:
        return await book.store.add(meet, Actor.of(user), "set_up")
    except AlreadyExists as exc:
        raise Conflict("meet.exists", "该运动会已设置过项目", id=activity.id) from exc


async def change_meet(
    book: MeetBook, activity: Activity, action: str, decide: Callable[[SportsMeet], Any], user
) -> SportsMeet:
    managed(user, activity)
    await existing_meet(book, activity)
    return await book.store.change(activity.id, decide, Actor.of(user), action)


async def existing_meet(book: MeetBook, activity: Activity) -> SportsMeet:
    """The meet of an activity that is to be changed or entered. 409, not 404: the activity
    exists (it was just named); it has no meet yet."""
    found = await book.store.get(activity.id)
    if found is None:
        raise Conflict(
            "meet.not_set_up", "该活动还没有设置运动会项目，请先设置运动会", id=activity.id
        )
    return found


async def open_meet(book: MeetBook, activity: Activity, item_id: str) -> SportsMeet:
    """The meet whose item `item_id` a member enters or leaves: only while entries are open."""
    meet = await existing_meet(book, activity)
    meet.item(item_id)
    if activity.status not in ENTERING:
        raise Conflict(
            "meet.entries_closed",
            "运动会不在报名阶段，不能报名或退出项目",
            activity_status=activity.status,
        )
    return meet


async def add_item(activity: Activity, cmd: NewItem, book: MeetBook, user: Principal) -> MeetItem:
    added: list[MeetItem] = []
    await change_meet(book, activity, "add_item", lambda m: added.append(m.add_item(cmd)), user)
    return added[-1]


async def change_rules(
    activity: Activity, cmd: ChangeRules, book: MeetBook, user: Principal
) -> SportsMeet:
    return await change_meet(book, activity, "change_rules", lambda m: m.change_rules(cmd), user)


async def enter(
    activity: Activity,
    item_id: str,
    member_id: str,
    book: MeetBook,
    directory: MemberDirectory,
    user: Principal,
) -> dict[str, Any]:
    if member_id != user.subject:
        managed(user, activity)
    else:
        user.require(Role.member, Role.cadre)
    meet = await open_meet(book, activity, item_id)
    member = await directory.get(member_id)
    if member is None or (member_id != user.subject and not user.can_access(member["campus"])):
        raise Invalid("member.not_found", "未找到该会员", id=member_id)
    if member.get("status") not in MEMBERS_WHO_ENTER:
        raise Conflict(
            "meet.not_a_member", "只有在会会员可以报名", member_status=member.get("status")
        )
    if activity.campus not in ("*", member.get("campus")):
        raise Conflict("meet.other_campus", "这是其他校区的运动会", campus=activity.campus)
    entry = await book.enter(meet, item_id, member)
    if entry is None:
        raise Conflict(
            "meet.entries_full",
            f"每人最多报名 {meet.max_entries} 个项目",
            max_entries=meet.max_entries,
        )
    return entry


async def withdraw(
    activity: Activity, item_id: str, member_id: str, book: MeetBook, user: Principal
) -> None:
    if member_id != user.subject:
        managed(user, activity)
    await open_meet(book, activity, item_id)
    if not await book.withdraw(activity.id, item_id, member_id):
        raise NotFound("meet.entry_not_found", "没有这项报名", item=item_id, member=member_id)


async def record_results(
    activity: Activity, item_id: str, rows: list[ResultIn], book: MeetBook, user: Principal
) -> SportsMeet:
    managed(user, activity)
    if activity.status not in RESULTS:
        raise Conflict(
            "meet.results_closed",
            "活动未发布或已取消，不能录入成绩",
            activity_status=activity.status,
        )
    meet = await existing_meet(book, activity)
    item = meet.item(item_id)
    entries = await book.of_item(activity.id, item_id)
    if item.kind is ItemKind.individual:
        team_of = {e["member_id"]: e["team"] for e in entries}
    else:
        team_of = {e["team"]: e["team"] for e in entries}
    results = ranked(item.measure, rows, team_of)
    return await change_meet(
        book, activity, "record_results", lambda m: m.record_results(item_id, results), user
    )


async def publish(activity: Activity, book: MeetBook, user: Principal) -> SportsMeet:
    teams = await book.teams(activity.id)
    now = utcnow()
    return await change_meet(book, activity, "publish", lambda m: m.publish(now, teams), user)


async def meet_of(activity: Activity, book: MeetBook) -> SportsMeet:
    found = await book.store.get(activity.id)
    if found is None:
        raise NotFound("meet.not_found", "该活动还没有设置运动会项目", id=activity.id)
    return found


def shown_results(meet: SportsMeet, user: Principal) -> bool:
    """Cadres of the campus see results as recorded; everyone else what was published."""
    return user.has_role(Role.cadre) and user.can_access(meet.campus)

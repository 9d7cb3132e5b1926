"""Check-in use cases (签到): by code at the door, or a walk-in recorded by a cadre.

A check-in is a change of the registration: decided on its current state and written as its
next version, so of two concurrent check-ins of one registration exactly one is written (the
unique key of that version); the other is told when and by whom it was checked in.
"""

from __future__ import annotations

from services.events.activities.domain import Activity, ActivityStatus
from services.events.activities.eligibility import Person
from services.events.registrations.domain import Registration, registration_id, walk_in
from services.events.registrations.handlers import Registrations
from shared.aggregate import Actor
from shared.errors import Conflict, Invalid
from shared.principal import Principal
from shared.text import fold_width
from shared.timeutil import utcnow_ms as utcnow


def check_running(activity: Activity) -> None:
    if activity.status in (ActivityStatus.draft, ActivityStatus.cancelled):
        raise Conflict(
            "checkin.not_running",
            "活动未发布或已取消，不能签到",
            current=activity.status.value,
        )


async def checker_name(ctx: Registrations, user: Principal) -> str:
    """Who checks people in, as the door list shows it: the cadre's name when they are a
    member (the member directory knows them), else their token's subject."""
    doc = await ctx.directory.get(user.subject)
    return (doc or {}).get("name") or user.subject


async def check_in_by_code(
    ctx: Registrations, activity: Activity, code: str, user: Principal
) -> Registration:
    check_running(activity)
    code = fold_width(code).upper()
    book = ctx.book
    claim = await book.find_code(activity.id, code)
    if claim is None:
        if await book.code_elsewhere(code) is not None:
            raise Conflict("checkin.other_activity", "该签到码属于其他活动，不能在本活动签到")
        raise Invalid("checkin.unknown_code", f"签到码「{code}」不存在", checkin_code=code)
    found = await book.get(claim["registration"])
    if found is None or found.code != code:
        raise Conflict(
            "checkin.code_void", "该签到码已失效（报名已取消或已重新报名）", checkin_code=code
        )
    name = await checker_name(ctx, user)
    now = utcnow()
    kind = activity.kind.value

    def decide(r: Registration) -> None:
        if r.code != code:
            raise Conflict("checkin.code_void", "该签到码已失效（报名已取消或已重新报名）")
        r.check_in(user.subject, name, now, kind)

    return await book.store.change(found.id, decide, Actor.of(user), "check_in")


async def record_walk_in(
    ctx: Registrations,
    activity: Activity,
    member: str,
    user: Principal,
) -> Registration:
    """现场登记: a member of the cadre's campuses who came without a (confirmed)
    registration; takes no seat. `member` is their member id or staff number."""
    check_running(activity)
    member = fold_width(member)
    doc = await ctx.directory.get(member) or await ctx.directory.by_staff_no(member.upper())
    # Only members of the cadre's campuses; anyone else is answered exactly as a staff
    # number nobody has (the desk must not learn who exists on other campuses).
    if doc is None or not user.can_access(doc.get("campus") or ""):
        raise Invalid("member.not_found", f"未找到会员「{member}」", member=member)
    person = Person.of(doc)
    name = await checker_name(ctx, user)
    now = utcnow()
    actor = Actor.of(user)
    book = ctx.book
    reg_id = registration_id(activity.id, person.id)
    if await book.get(reg_id) is None:
        came = walk_in(activity, person, user.subject, name, now)
        added = await book.store.add_if_absent(came, actor)
        if added.created:
            return added.aggregate
    kind = activity.kind.value
    return await book.store.change(
        reg_id, lambda r: r.record_walk_in(user.subject, name, now, kind), actor, "walk_in"
    )

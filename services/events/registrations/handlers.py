"""Registration use cases: sign up, cancel, promote the waitlist, and the event handlers that
map other facts (a member left, an activity was cancelled or grew) to those commands.

Who gives out a seat:

- a sign-up takes free seats itself while nobody waits;
- while anyone waits (`RegistrationBook.nobody_waits`), a sign-up joins the waitlist and only
  the activity's promoter gives out seats, until the line is empty again and it reopens the
  activity to direct sign-ups: it runs in this service's consumer of
  `events.registration`, whose key is the activity id, so one consumer at a time works an
  activity's cancellations and sign-ups, in order. It frees a cancelled registration's seats
  and moves the waitlist up, first come first served. A second promoter (a capacity increase
  arrives on `events.activity`) cannot double-book either: seats and promotions are
  unique-key inserts, and each walks the same waitlist in the same order.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.events.activities.domain import LIVE, Activity, ActivityStatus
from services.events.activities.eligibility import Person, refusal
from services.events.activities.store import ActivityCatalog
from services.events.registrations.domain import (
    CancelReason,
    Outcome,
    Registration,
    RegistrationStatus,
    Seated,
    Waiting,
    registration_id,
    sign_up,
    window,
)
from services.events.registrations.store import RegistrationBook
from shared.aggregate import Actor
from shared.envelope import CloudEvent
from shared.errors import Conflict, DomainError, Invalid, NotFound
from shared.events import version_of
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityPublished,
    RegistrationCancelled,
    RegistrationFacts,
)
from shared.events.members import MemberDeceased, MemberTransferred, MemberWithdrawn
from shared.readmodels.member_directory import MemberDirectory
from shared.scheduler import JobRun
from shared.timeutil import utcnow_ms as utcnow

log = logging.getLogger(__name__)

# A waitlist entry whose registration is not written after this long was left by a crash.
ENTRY_GRACE = timedelta(seconds=10)
# How old the promoter's picture of the free seats may be before it reads them again.
SEATS_STALE_S = 5.0
LEFT = ("withdrawn", "deceased")


@dataclass(frozen=True)
class Registrations:
    """What the registration use cases work with (built once by the composition root)."""

    book: RegistrationBook
    catalog: ActivityCatalog
    directory: MemberDirectory


@dataclass(frozen=True)
class Signed:
    registration: Registration
    created: bool  # False: the member had signed up already (twice is once)


# -- signing up -------------------------------------------------------------------------------


def check_open(activity: Activity, now: datetime, by_cadre: bool) -> None:
    """Sign-up is open: published and within its window (a cadre may still add someone after
    the deadline, until the activity starts)."""
    if activity.status is ActivityStatus.draft:
        raise Conflict("registration.not_open", "活动尚未发布，不能报名")
    if now >= activity.starts_at or activity.status not in LIVE:
        raise Conflict("registration.closed", "活动报名已结束", current=activity.status.value)
    if by_cadre:
        return
    if activity.status is ActivityStatus.registration_closed:
        raise Conflict("registration.closed", "活动报名已截止", current=activity.status.value)
    state = window(activity, now)
    if state == "not_open":
        raise Conflict("registration.not_open", "活动报名尚未开始")
    if state == "closed":
        raise Conflict("registration.closed", "活动报名已截止")


async def person_of(
    directory: MemberDirectory, member_id: str, missing: type[DomainError] = NotFound
) -> Person:
    """The member from the directory. `missing`: a member a command names that is not there
    is input to correct (Invalid, 422); on a read of the caller's own page it is NotFound."""
    doc = await directory.get(member_id)
    if doc is None:
        raise missing("member.not_found", "未找到该会员（会员信息可能尚未同步）", id=member_id)
    return Person.of(doc)


async def register(
    ctx: Registrations,
    activity: Activity,
    member_id: str,
    guests: int,
    actor: Actor,
    *,
    by_cadre: bool,
) -> Signed:
    """报名: eligibility, then a seat or a waitlist place won by unique inserts, then the
    registration itself. Twice is once: a member already signed up gets their registration."""
    now = utcnow()
    check_open(activity, now, by_cadre)
    if guests > activity.guests_max:
        raise Conflict(
            "registration.too_many_guests",
            f"本活动每人最多可带 {activity.guests_max} 位家属",
            guests_max=activity.guests_max,
        )
    if activity.capacity is not None and 1 + guests > activity.capacity:
        raise Conflict(
            "registration.too_many_guests",
            f"本活动共 {activity.capacity} 个名额，不能带 {guests} 位家属",
            capacity=activity.capacity,
        )
    person = await person_of(ctx.directory, member_id, Invalid)
    refused = refusal(activity, person)
    if refused is not None:
        raise Conflict("registration.ineligible", refused.message, rule=refused.rule)

    token = secrets.token_hex(6)  # this sign-up's key: its seats and waitlist place
    book = ctx.book
    outcome = await allocate(book, activity, registration_id(activity.id, member_id), guests, token)
    written = False
    try:
        registration = sign_up(activity, person, guests, outcome, token, actor.subject, now)
        added = await book.store.add_if_absent(registration, actor, "sign_up")
        if added.created:
            written = True
            return Signed(added.aggregate, True)
        # Signed up before: an active registration stays as it is; a cancelled one signs up
        # again with what was just won.
        current = await book.store.change(
            registration.id,
            lambda r: r.sign_up_again(outcome, token, guests, actor.subject, now),
            actor,
            "sign_up_again",
        )
        written = current.token == token
        return Signed(current, written)
    finally:
        if not written:
            await undo(book, activity.id, outcome, token)
            if isinstance(outcome, Waiting):
                # The promoter may have stopped at this place, waiting for its registration
                # (a void place makes no event that would wake it): move the line on here.
                await promote(ctx, activity.id, actor, fresh=False)


async def allocate(
    book: RegistrationBook, activity: Activity, reg_id: str, guests: int, token: str
) -> Outcome:
    """Seats if free (and nobody waits), else a place on the waitlist, else 409 full."""
    aid = activity.id
    if activity.capacity is None:
        return Seated([], await book.claim_code(aid, reg_id, token))
    if not activity.waitlist or await book.nobody_waits(aid):
        won = await book.take_seats(aid, activity.capacity, 1 + guests, reg_id, token)
        if won is None and not activity.waitlist and book.seats.age(aid) > 1.0:
            # No waitlist to catch a stale "full": look at the pool itself before refusing.
            await book.seats.refresh(aid)
            won = await book.take_seats(aid, activity.capacity, 1 + guests, reg_id, token)
        if won is not None:
            return Seated(*won)
    if not activity.waitlist:
        raise Conflict("registration.full", "名额已满", capacity=activity.capacity)
    number = await book.waitlist.claim(aid, {"registration": reg_id, "token": token})
    return Waiting(number)


async def undo(book: RegistrationBook, activity_id: str, outcome: Outcome, token: str) -> None:
    """Give back what a sign-up won but did not use (only its own claims: same token)."""
    if isinstance(outcome, Seated):
        if outcome.seats:
            await book.seats.release(activity_id, outcome.seats, token)
        else:
            await book.void_code(activity_id, outcome.code, token)
    else:  # numbers are never reused: the place is marked void, and the promoter skips it
        await book.waitlist.void(activity_id, outcome.number)


# -- cancelling -------------------------------------------------------------------------------


async def cancel(
    ctx: Registrations,
    activity: Activity,
    member_id: str,
    reason: CancelReason,
    actor: Actor,
) -> Registration:
    """取消报名. The member may cancel until the sign-up deadline; a cadre until it ends."""
    now = utcnow()
    if activity.status in (ActivityStatus.completed, ActivityStatus.cancelled):
        raise Conflict(
            "registration.activity_over",
            f"活动{'已结束' if activity.status is ActivityStatus.completed else '已取消'}，报名不能再变动",
            current=activity.status.value,
        )
    if reason is CancelReason.member and now >= activity.signup_deadline():
        raise Conflict("registration.deadline_passed", "报名已截止，不能自行取消，请联系工会干部")
    reg_id = registration_id(activity.id, member_id)
    if await ctx.book.get(reg_id) is None:
        raise NotFound("registration.not_found", "未找到该报名", id=reg_id)
    return await ctx.book.store.change(
        reg_id, lambda r: r.cancel(reason, actor.subject, now), actor, f"cancel:{reason.value}"
    )


async def cancel_quietly(
    ctx: Registrations, registration: Registration, reason: CancelReason, actor: Actor
) -> None:
    """Cancel for a fact elsewhere (a member left, an activity was cancelled); a registration
    already cancelled or attended is left as it is."""
    now = utcnow()

    def decide(r: Registration) -> None:
        if r.active and r.checked_in_at is None:
            r.cancel(reason, actor.subject, now)

    await ctx.book.store.change(registration.id, decide, actor, f"cancel:{reason.value}")


# -- the promoter -----------------------------------------------------------------------------


async def promote(
    ctx: Registrations,
    activity_id: str,
    actor: Actor,
    *,
    fresh: bool,
    activity: Activity | None = None,
) -> int:
    """Give the activity's free seats to its waitlist, first come first served; returns how
    many were promoted. Strict FIFO: when the first in line needs more seats (guests) than
    are free, nobody behind them jumps ahead."""
    # One promoter per activity in this process (the consumer's and the minute job's): two
    # would each hold seats back from the other and could both stop short.
    async with ctx.book.promoting(activity_id):
        return await _promote(ctx, activity_id, actor, fresh=fresh, activity=activity)


async def _promote(
    ctx: Registrations,
    activity_id: str,
    actor: Actor,
    *,
    fresh: bool,
    activity: Activity | None,
) -> int:
    book = ctx.book
    activity = activity or await ctx.catalog.get(activity_id)
    now = utcnow()
    if activity is None or activity.status not in LIVE or now >= activity.starts_at:
        return 0
    if not activity.waitlist:
        return 0
    capacity = activity.capacity
    if capacity is not None:
        if fresh or book.seats.age(activity_id) > SEATS_STALE_S:
            await book.seats.refresh(activity_id)
        if await book.seats.free(activity_id, capacity) == 0:
            return 0  # nothing to give (the usual answer during a sign-up burst)
    head = book.heads.get(activity_id, 1)
    promoted = 0
    try:
        while True:
            entry = await book.waitlist.get(activity_id, head)
            if entry is None:  # nobody (left) in line
                if capacity is None or await book.seats.free(activity_id, capacity) > 0:
                    await book.reopen(activity_id, head)
                break
            registration = await book.get(entry["registration"])
            token = entry["token"]
            if registration is None or registration.token != token:
                if await book.waitlist.is_void(activity_id, head):
                    head += 1  # given up (the member had signed up before)
                    continue
                if now - entry["claimed_at"] < ENTRY_GRACE:
                    break  # its sign-up is being written: that will trigger us again
                head += 1  # left by a sign-up that crashed
                continue
            if registration.status is not RegistrationStatus.waitlisted:
                head += 1  # cancelled, or already promoted
                continue
            if capacity is None:
                seated = Seated([], await book.claim_code(activity_id, registration.id, token))
            else:
                need = 1 + registration.guests
                won = await book.take_seats(activity_id, capacity, need, registration.id, token)
                if won is None:
                    break  # not enough free for the first in line
                seated = Seated(*won)
            current = await book.store.change(
                registration.id, promotion(token, seated, now), actor, "promote"
            )
            if current.code == seated.code:
                promoted += 1
            else:
                await undo(book, activity_id, seated, token)
            head += 1
    finally:
        book.heads[activity_id] = max(head, book.heads.get(activity_id, 1))
    return promoted


def promotion(token: str, seated: Seated, now: datetime) -> Callable[[Registration], None]:
    return lambda r: r.promote(token, seated, now)


# -- event handlers: each maps a fact to the commands above -----------------------------------


async def on_registration_event(envelope: CloudEvent, ctx: Registrations) -> None:
    """Every `events.registration` event, on the consumer that owns the activity's partition."""
    from shared.events import parse

    event = parse(envelope)
    if not isinstance(event, RegistrationFacts):
        return
    actor = Actor.system(envelope)
    aid = event.activity_id
    if isinstance(event, RegistrationCancelled):
        version = version_of(envelope.sequence) if envelope.sequence else None
        cancelled = await ctx.book.at_version(event.registration_id, version) if version else None
        if cancelled is not None and cancelled.seats:
            await ctx.book.seats.release(aid, cancelled.seats, cancelled.token)
        await promote(ctx, aid, actor, fresh=False)
        return
    if event.type not in ("events.registration.confirmed.v1", "events.registration.waitlisted.v1"):
        return
    # A new registration: did its member leave, or its activity end, while it was written?
    # (Those handlers list registrations from the view, which may not have had this one.)
    # Read after this registration's view was written (that route runs first). The activity's
    # view and the member directory are written before the cancel / departure handlers run
    # (their routes come first too), so either this sees the cancel or the departure, or that
    # handler's list of registrations has this one. Views suffice: one read each.
    activity = await ctx.catalog.store.get(aid, current=False)
    member = await ctx.directory.get(event.member_id)
    reason = None
    if activity is not None and activity.status is ActivityStatus.cancelled:
        reason = CancelReason.activity_cancelled
    elif member is not None and member.get("status") in LEFT:
        reason = CancelReason.member_left
    if reason is not None:
        registration = await ctx.book.get(event.registration_id)
        if registration is not None:
            await cancel_quietly(ctx, registration, reason, actor)
        return
    if event.status == RegistrationStatus.waitlisted.value:
        await promote(ctx, aid, actor, fresh=False, activity=activity)


async def on_activity_changed(
    event: ActivityChanged, envelope: CloudEvent, ctx: Registrations
) -> None:
    """More seats (or no limit any more): the waitlist moves up."""
    if {"capacity", "waitlist"} & set(event.changed):
        await promote(ctx, event.activity_id, Actor.system(envelope), fresh=True)


async def on_activity_published(
    event: ActivityPublished, envelope: CloudEvent, ctx: Registrations
) -> None:
    await promote(ctx, event.activity_id, Actor.system(envelope), fresh=True)


async def on_activity_cancelled(
    event: ActivityCancelled, envelope: CloudEvent, ctx: Registrations
) -> None:
    """活动取消: every registration of it is cancelled (each member is told by notify)."""
    actor = Actor.system(envelope)
    for registration in await ctx.book.active_of_activity(event.activity_id):
        await cancel_quietly(ctx, registration, CancelReason.activity_cancelled, actor)


async def member_left(
    ctx: Registrations, member_id: str, envelope: CloudEvent, still_eligible: bool
) -> None:
    """Cancel the member's registrations of activities that have not started yet; on a
    transfer only those the new campus is not eligible for (`still_eligible`)."""
    actor = Actor.system(envelope)
    now = utcnow()
    person = None
    if still_eligible:
        doc = await ctx.directory.get(member_id)
        person = Person.of(doc) if doc is not None else None
    for registration in await ctx.book.of_member(member_id):
        if not registration.active:
            continue
        activity = await ctx.catalog.get(registration.activity_id)
        if activity is None or activity.starts_at <= now or activity.status not in LIVE:
            continue  # past activities keep their record
        if person is not None:
            refused = refusal(activity, person)
            if refused is None or refused.rule != "campus":
                continue
        await cancel_quietly(ctx, registration, CancelReason.member_left, actor)


async def on_member_withdrawn(
    event: MemberWithdrawn, envelope: CloudEvent, ctx: Registrations
) -> None:
    await member_left(ctx, event.member_id, envelope, still_eligible=False)


async def on_member_deceased(
    event: MemberDeceased, envelope: CloudEvent, ctx: Registrations
) -> None:
    await member_left(ctx, event.member_id, envelope, still_eligible=False)


async def on_member_transferred(
    event: MemberTransferred, envelope: CloudEvent, ctx: Registrations
) -> None:
    await member_left(ctx, event.member_id, envelope, still_eligible=True)


async def promote_waiting(ctx: Registrations, run: JobRun) -> None:
    """Every minute, the waitlists of activities with someone waiting move up if seats are
    free: the safety net for a trigger that never came (a sign-up that crashed between its
    waitlist place and its registration, a seat freed where this process could not see it).
    Running next to the consumer's promoter is safe: seats and promotions are unique inserts."""
    actor = Actor("system:promote-waiting")
    waiting = await ctx.book.store.view.distinct(
        "activity_id", {"status": RegistrationStatus.waitlisted.value}
    )
    for activity_id in sorted(waiting):
        await promote(ctx, activity_id, actor, fresh=True)

"""Registration routes: sign up, cancel, see one's registrations and their check-in codes."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import BaseModel, Field

from services.events.activities.api import ActivityDetail, ActivityId, Catalog
from services.events.activities.domain import Activity, ActivityKind
from services.events.activities.eligibility import conditions, refusal
from services.events.deps import Cadre
from services.events.registrations.domain import (
    CancelReason,
    Registration,
    RegistrationStatus,
    SignUp,
    registration_id,
)
from services.events.registrations.handlers import Registrations, cancel, person_of, register
from shared.aggregate import Actor
from shared.auth import CurrentUser, Principal, Role
from shared.errors import Conflict, NotFound
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided
from shared.timeutil import as_local, utcnow

RegistrationsDep = Annotated[Registrations, Depends(provided("registrations"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["报名 registrations"])
# An activity as its registrations show it (seats taken, waiting): listed with the activities.
activity_router = APIRouter(responses=PROBLEM_RESPONSES, tags=["活动 activities"])


@activity_router.get("/activities/{activity_id}")
async def get_activity(
    activity_id: ActivityId, catalog: Catalog, registrations: RegistrationsDep, user: CurrentUser
) -> ActivityDetail:
    """One activity with its seats taken and waiting; role: any signed-in user who may see it."""
    activity = await catalog.visible(activity_id, user)
    book = registrations.book
    taken = None
    if activity.capacity is not None:
        taken = await book.seats.coll.count_documents({"pool": activity.id})
    _, waiting = await book.of_activity(activity.id, RegistrationStatus.waitlisted, 1, 0)
    return ActivityDetail.of(activity, seats_taken=taken, waiting=waiting)


MEMBER_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MemberId = Annotated[str, Path(pattern=MEMBER_ID, description="会员编号")]


def local(moment: datetime | None) -> datetime | None:
    return as_local(moment) if moment is not None else None


class RegistrationPublic(BaseModel):
    id: str
    activity_id: str
    activity_title: str
    member_id: str
    name: str
    department: str
    campus: str = Field(description="会员所在校区")
    guests: int = Field(description="同行家属人数")
    status: RegistrationStatus
    status_label: str
    waitlist_no: int | None = Field(description="候补号（先到先得）")
    place_in_line: int | None = Field(
        description="当前候补第几位（1 = 下一个；查询报名时计算，报名应答中为空）"
    )
    seats: int = Field(description="占用名额（本人加家属）")
    code: str | None = Field(description="签到码（报名成功后才有）")
    round: int = Field(description="第几次报名（取消后可重新报名）")
    registered_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: CancelReason | None
    cancel_reason_label: str | None
    checked_in_at: datetime | None
    checked_in_by: str | None = Field(description="签到人姓名")
    walk_in: bool = Field(description="现场登记")

    @classmethod
    def of(cls, r: Registration, place: int | None = None) -> RegistrationPublic:
        return cls(
            id=r.id,
            activity_id=r.activity_id,
            activity_title=r.activity_title,
            member_id=r.member_id,
            name=r.name,
            department=r.department,
            campus=r.campus,
            guests=r.guests,
            status=r.status,
            status_label=r.status.label,
            waitlist_no=r.waitlist_no,
            place_in_line=place,
            seats=len(r.seats),
            code=r.code if r.status is RegistrationStatus.confirmed else None,
            round=r.round,
            registered_at=as_local(r.registered_at),
            confirmed_at=local(r.confirmed_at),
            cancelled_at=local(r.cancelled_at),
            cancel_reason=r.cancel_reason,
            cancel_reason_label=r.cancel_reason.label if r.cancel_reason else None,
            checked_in_at=local(r.checked_in_at),
            checked_in_by=r.checked_in_by_name or r.checked_in_by,
            walk_in=r.walk_in,
        )


class RegistrationPage(BaseModel):
    items: list[RegistrationPublic]
    total: int
    limit: int
    offset: int


async def public(registrations: Registrations, r: Registration) -> RegistrationPublic:
    return RegistrationPublic.of(r, await registrations.book.place_in_line(r))


def managed(user: Principal, activity: Activity) -> None:
    """The caller runs the activity: a cadre of its campus (school-wide: of `*`)."""
    user.require(Role.cadre, campus=activity.campus)


def own_or_managed(user: Principal, activity: Activity, member_id: str) -> None:
    if user.subject != member_id:
        managed(user, activity)


async def registration_of(
    registrations: Registrations, activity: Activity, member_id: str
) -> Registration:
    found = await registrations.book.get(registration_id(activity.id, member_id))
    if found is None:
        raise NotFound("registration.not_found", "未找到该报名", member_id=member_id)
    return found


@router.post(
    "/activities/{activity_id}/registrations",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "已报名过（重复报名即一次）", "model": RegistrationPublic}},
)
async def sign_up(
    activity_id: ActivityId,
    body: SignUp,
    response: Response,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: CurrentUser,
) -> RegistrationPublic:
    """报名: a seat, or a place on the waitlist when full; twice is once (200). An ineligible
    member gets 409 `registration.ineligible` naming the `rule`; role: member (themself), or
    cadre of the activity's campus (`member_id`: adds someone)."""
    activity = await catalog.visible(activity_id, user, recent=True)
    member_id = body.member_id or user.subject
    by_cadre = member_id != user.subject
    if by_cadre:
        managed(user, activity)
    else:
        user.require(Role.member, Role.cadre)
    signed = await register(
        registrations, activity, member_id, body.guests, Actor.of(user), by_cadre=by_cadre
    )
    if not signed.created:
        response.status_code = status.HTTP_200_OK
    # The place in line is counted when the registration is read (GET), not here: the answer
    # to a burst of sign-ups stays one insert away from the request.
    return RegistrationPublic.of(signed.registration)


@router.get("/activities/{activity_id}/registrations")
async def list_registrations(
    activity_id: ActivityId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: Cadre,
    status_: Annotated[RegistrationStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> RegistrationPage:
    """An activity's registrations (waitlist in its order); role: cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    managed(user, activity)
    items, total = await registrations.book.of_activity(activity.id, status_, limit, offset)
    waiting = sorted(
        r.waitlist_no
        for r in await registrations.book.store.find(
            {"activity_id": activity.id, "status": RegistrationStatus.waitlisted.value},
            limit=100_000,
        )
        if r.waitlist_no is not None
    )
    place = {number: i + 1 for i, number in enumerate(waiting)}
    return RegistrationPage(
        items=[
            RegistrationPublic.of(
                r,
                place.get(r.waitlist_no or 0)
                if r.status is RegistrationStatus.waitlisted
                else None,
            )
            for r in items
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/activities/{activity_id}/registrations/{member_id}")
async def get_registration(
    activity_id: ActivityId,
    member_id: MemberId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: CurrentUser,
) -> RegistrationPublic:
    """One registration, with the check-in code once confirmed; role: the member themself, or
    cadre of the activity's campus."""
    activity = await catalog.visible(activity_id, user)
    own_or_managed(user, activity, member_id)
    return await public(registrations, await registration_of(registrations, activity, member_id))


@router.post("/activities/{activity_id}/registrations/{member_id}/cancel")
async def cancel_registration(
    activity_id: ActivityId,
    member_id: MemberId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: CurrentUser,
) -> RegistrationPublic:
    """取消报名: the member until the sign-up deadline, a cadre (移除) until it starts; a
    freed seat goes to the first in line; role: the member themself, or cadre of its campus."""
    activity = await catalog.visible(activity_id, user)
    own_or_managed(user, activity, member_id)
    reason = CancelReason.member if user.subject == member_id else CancelReason.cadre
    cancelled = await cancel(registrations, activity, member_id, reason, Actor.of(user))
    return await public(registrations, cancelled)


class NamedPublic(BaseModel):
    """A sentence that names campuses or small groups by code, for a page that knows their
    names: `template` with {} for the names (joined by 、) of `codes`."""

    rule: str = Field(description="campus 或 small_group")
    codes: list[str] = Field(description="校区或教工小家的代码")
    template: str = Field(description="以名称代替 {} 的句子，如「校区：{}」")


class ConditionPublic(BaseModel):
    rule: str = Field(description="status、campus、department、gender、age、role、small_group")
    text: str = Field(description="这一条报名条件（中文）")
    names: NamedPublic | None = Field(None, description="条件提到校区或教工小家时，按名称显示")


class EligibilityPublic(BaseModel):
    eligible: bool = Field(description="我能否报名（只看报名条件，不看名额与报名时间）")
    rule: str | None = Field(description="不能报名时，拦住我的那一条（status、gender …）")
    message: str | None = Field(description="不能报名的原因（中文）")
    message_names: NamedPublic | None = Field(
        None, description="原因提到校区或教工小家时，按名称显示"
    )
    conditions: list[str] = Field(description="本活动的报名条件，逐条说明")
    details: list[ConditionPublic] = Field(
        default_factory=list, description="同 conditions，附校区、教工小家的代码"
    )


def _named(rule: str, codes: tuple[str, ...], template: str | None) -> NamedPublic | None:
    return NamedPublic(rule=rule, codes=list(codes), template=template) if template else None


@router.get("/activities/{activity_id}/eligibility")
async def my_eligibility(
    activity_id: ActivityId, catalog: Catalog, registrations: RegistrationsDep, user: CurrentUser
) -> EligibilityPublic:
    """Whether the caller may sign up, and the activity's conditions in plain words (what a
    member reads before signing up); role: member (themself)."""
    activity = await catalog.visible(activity_id, user)
    user.require(Role.member)
    refused = refusal(activity, await person_of(registrations.directory, user.subject))
    stated = conditions(activity)
    return EligibilityPublic(
        eligible=refused is None,
        rule=refused.rule if refused else None,
        message=refused.message if refused else None,
        message_names=_named(refused.rule, refused.codes, refused.template) if refused else None,
        conditions=[c.text for c in stated],
        details=[
            ConditionPublic(rule=c.rule, text=c.text, names=_named(c.rule, c.codes, c.template))
            for c in stated
        ],
    )


# -- the check-in code as a QR image ----------------------------------------------------------

QR_SCALE = 10  # pixels per module: about 290 px for a six-character code, easy to scan


async def code_of(
    activity_id: str,
    member_id: str,
    catalog: Catalog,
    registrations: Registrations,
    user: Principal,
) -> str:
    activity = await catalog.visible(activity_id, user)
    own_or_managed(user, activity, member_id)
    found = await registration_of(registrations, activity, member_id)
    if found.status is not RegistrationStatus.confirmed or found.code is None:
        raise Conflict(
            "registration.no_code",
            f"该报名{found.status.label}，报名成功后才有签到码",
            current=found.status.value,
        )
    return found.code


def qr_png(code: str) -> bytes:
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind="png", scale=QR_SCALE, border=4)
    return out.getvalue()


def qr_svg(code: str) -> bytes:
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(
        out, kind="svg", scale=QR_SCALE, border=4, light="#fff", xmldecl=False, title=code
    )
    return out.getvalue()


PNG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/png": {}}, "description": "签到二维码（PNG）"}
}
SVG: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {}}, "description": "签到二维码（SVG）"}
}


@router.get(
    "/activities/{activity_id}/registrations/{member_id}/qr.png",
    response_class=Response,
    responses=PNG,
)
async def qr_code_png(
    activity_id: ActivityId,
    member_id: MemberId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: CurrentUser,
) -> Response:
    """The check-in code as a QR image (PNG) to show at the door; role: the member themself,
    or cadre of the activity's campus."""
    code = await code_of(activity_id, member_id, catalog, registrations, user)
    return Response(qr_png(code), media_type="image/png", headers={"Cache-Control": "private"})


@router.get(
    "/activities/{activity_id}/registrations/{member_id}/qr.svg",
    response_class=Response,
    responses=SVG,
)
async def qr_code_svg(
    activity_id: ActivityId,
    member_id: MemberId,
    catalog: Catalog,
    registrations: RegistrationsDep,
    user: CurrentUser,
) -> Response:
    """The check-in code as a QR image (SVG); role: the member themself, or cadre of the
    activity's campus."""
    code = await code_of(activity_id, member_id, catalog, registrations, user)
    return Response(qr_svg(code), media_type="image/svg+xml", headers={"Cache-Control": "private"})


# -- a member's own history -------------------------------------------------------------------


class Participation(RegistrationPublic):
    kind: ActivityKind | None
    kind_label: str | None
    venue: str | None
    starts_at: datetime | None = Field(description="活动开始（北京时间）")
    ends_at: datetime | None
    past: bool = Field(description="活动已开始或已结束")


@router.get("/me/registrations")
async def my_registrations(
    catalog: Catalog, registrations: RegistrationsDep, user: CurrentUser
) -> list[Participation]:
    """The caller's own registrations, future first then past, with the waitlist place and
    check-in code; role: member (themself)."""
    now = utcnow()
    out: list[Participation] = []
    activities: dict[str, Activity | None] = {}
    for r in await registrations.book.of_member(user.subject):
        if r.activity_id not in activities:
            activities[r.activity_id] = await catalog.get(r.activity_id)
        activity = activities[r.activity_id]
        base = (await public(registrations, r)).model_dump()
        out.append(
            Participation(
                **base,
                kind=activity.kind if activity else None,
                kind_label=activity.kind.label if activity else None,
                venue=activity.venue if activity else None,
                starts_at=local(activity.starts_at) if activity else None,
                ends_at=local(activity.ends_at) if activity else None,
                past=bool(activity and activity.starts_at <= now),
            )
        )
    future = sorted((p for p in out if not p.past), key=lambda p: p.starts_at or now)
    past = sorted((p for p in out if p.past), key=lambda p: p.starts_at or now, reverse=True)
    return future + past

"""Events published by the events service (活动): `events.activity`, `events.registration`,
`events.attendance`.

Activity events carry what notify needs to reach the eligible audience without asking anyone:
the campus scope, the eligibility rule itself, title, venue and the times (UTC). Registration
events are about one member's registration; their Kafka key (`partitionkey`) is the activity
id, so one activity's sign-ups, waitlist and promotions are one partition, in order.
Attendance events say who came to what (welfare turns blood donations into condolences).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.events import IntegrationEvent


class EligibilityFacts(BaseModel):
    """Who may sign up (报名条件); an empty list means no restriction of that kind."""

    campuses: list[str] = Field(
        default_factory=list, description="campus codes (the scope's campus when empty)"
    )
    departments: list[str] = Field(default_factory=list, description="departments (部门)")
    gender: str | None = Field(None, description="female / male, or null for everyone")
    statuses: list[str] = Field(
        default_factory=lambda: ["active"],
        description="member statuses allowed: active (在会), retired (退休会员)",
    )
    age_min: int | None = Field(None, description="youngest age allowed (years, at the start)")
    age_max: int | None = Field(None, description="oldest age allowed (years, at the start)")
    roles: list[str] = Field(
        default_factory=list, description="union roles allowed (chair, group_leader …)"
    )
    small_groups: list[str] = Field(
        default_factory=list, description="small group (教工小家) codes allowed"
    )


class ActivityFacts(IntegrationEvent):
    """The facts about an activity every `events.activity` event carries (no type of its own)."""

    topic = "events.activity"
    subject_field = "activity_id"

    activity_id: str = Field(description="activity id (aggregate id)")
    kind: str = Field(
        description=(
            "outing, sports_meet, lecture, competition, celebration, volunteering, "
            "blood_donation, ceremony, training, quiz, counselling"
        )
    )
    kind_label: str = Field(description="the kind in Chinese (春游秋游、讲座 …)")
    title: str = Field(description="title (活动名称)")
    campus: str = Field(description="campus code, or `*` for the whole school")
    venue: str = Field(description="venue (地点)")
    starts_at: datetime = Field(description="start (UTC)")
    ends_at: datetime = Field(description="end (UTC)")
    signup_opens_at: datetime | None = Field(
        None, description="sign-up opens (UTC); null: when published"
    )
    signup_closes_at: datetime | None = Field(
        None, description="sign-up deadline (UTC); null: the start"
    )
    capacity: int | None = Field(None, description="seats, family guests included; null: no limit")
    waitlist: bool = Field(description="whether a full activity keeps a waitlist (候补)")
    guests_max: int = Field(description="family guests one registration may bring")
    eligibility: EligibilityFacts = Field(description="who may sign up")
    status: str = Field(
        description="draft / published / registration_closed / completed / cancelled"
    )


class ActivityDrafted(ActivityFacts):
    """A cadre drafted an activity (活动草稿): not visible to members yet."""

    type = "events.activity.drafted.v1"
    summary = "活动草稿"


class ActivityPublished(ActivityFacts):
    """An activity was published (活动发布): its eligible members may sign up."""

    type = "events.activity.published.v1"
    summary = "活动发布"


class ActivityChanged(ActivityFacts):
    """An activity changed (活动变更): `changed` names the fields; a published activity whose
    `starts_at`, `ends_at` or `venue` changed must be announced to its registrants."""

    type = "events.activity.changed.v1"
    summary = "活动变更"

    changed: list[str] = Field(description="names of the fields that changed")


class ActivityRegistrationClosed(ActivityFacts):
    """Sign-up for an activity was closed (报名截止) before or at its deadline."""

    type = "events.activity.registration_closed.v1"
    summary = "报名截止"


class ActivityCancelled(ActivityFacts):
    """An activity was cancelled (活动取消), with the reason: its registrations are cancelled."""

    type = "events.activity.cancelled.v1"
    summary = "活动取消"

    reason: str = Field(description="why, as the cadre wrote it")


class ActivityCompleted(ActivityFacts):
    """An activity took place and was closed (活动结束)."""

    type = "events.activity.completed.v1"
    summary = "活动结束"


class RegistrationFacts(IntegrationEvent):
    """What every `events.registration` event carries (no type of its own)."""

    topic = "events.registration"
    subject_field = "registration_id"

    registration_id: str = Field(description="registration id (aggregate id)")
    activity_id: str = Field(description="the activity (also the Kafka key)")
    activity_title: str = Field(description="the activity's title, for messages")
    member_id: str = Field(description="the member who registered")
    member_campus: str = Field(description="the member's campus")
    department: str = Field(description="the member's department")
    guests: int = Field(description="family guests registered with the member")
    status: str = Field(description="confirmed / waitlisted / cancelled")
    waitlist_no: int | None = Field(
        None, description="number in the activity's waitlist (候补号), FIFO order"
    )


class RegistrationConfirmed(RegistrationFacts):
    """A member signed up and has a seat (报名成功)."""

    type = "events.registration.confirmed.v1"
    summary = "报名成功"


class RegistrationWaitlisted(RegistrationFacts):
    """A member signed up for a full activity and waits (进入候补) under `waitlist_no`."""

    type = "events.registration.waitlisted.v1"
    summary = "进入候补"


class RegistrationPromoted(RegistrationFacts):
    """A seat freed and the first waiting member got it (候补转正)."""

    type = "events.registration.promoted.v1"
    summary = "候补转正"


class RegistrationCancelled(RegistrationFacts):
    """A registration was cancelled (取消报名): by the member, a cadre, because the member
    left the union or the activity was cancelled. A freed seat goes to the waitlist."""

    type = "events.registration.cancelled.v1"
    summary = "取消报名"

    reason: str = Field(description="member / cadre / member_left / activity_cancelled")
    seats_freed: int = Field(description="seats (guests included) this frees")


class RegistrationCheckedIn(RegistrationFacts):
    """The member was checked in at the activity (签到), or recorded as a walk-in."""

    type = "events.registration.checked_in.v1"
    summary = "活动签到"

    checked_in_at: datetime = Field(description="when (UTC)")
    walk_in: bool = Field(description="came without a registration (现场登记)")


class AttendanceRecorded(IntegrationEvent):
    """A member attended an activity (出勤), with the activity's kind: welfare turns a
    `blood_donation` into a donor condolence (献血慰问)."""

    type = "events.attendance.recorded.v1"
    topic = "events.attendance"
    summary = "出勤记录"
    subject_field = "registration_id"

    registration_id: str = Field(description="the registration (event subject)")
    activity_id: str = Field(description="the activity")
    activity_kind: str = Field(description="the activity's kind (blood_donation …)")
    activity_title: str = Field(description="the activity's title")
    member_id: str = Field(description="the member who attended")
    member_campus: str = Field(description="the member's campus")
    department: str = Field(description="the member's department")
    attended_on: date = Field(description="the day (Asia/Shanghai)")
    checked_in_at: datetime = Field(description="when (UTC)")
    walk_in: bool = Field(description="came without a registration (现场登记)")

"""Events published by the events service (活动): `events.activity`, `events.registration`,
`events.attendance`, `events.plan` (the annual plan) and `events.sports` (the sports meet).

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
            "blood_donation, ceremony, training, quiz, counselling, cultural_sports, "
            "speech, other"
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


# -- the annual plan (年度工作计划) ----------------------------------------------------------


class PlanCreated(IntegrationEvent):
    """An annual plan was created (年度工作计划): loaded from the source table, copied from
    last year's, or started empty."""

    type = "events.plan.created.v1"
    topic = "events.plan"
    summary = "年度工作计划建立"
    subject_field = "plan_id"

    plan_id: str = Field(description="plan id (aggregate id), e.g. pl-2023 or pl-2024-main")
    year: int = Field(description="the plan's year")
    campus: str = Field(description="campus code, or `*` for the school-wide plan")
    title: str = Field(description="title (工作计划名称)")
    items: int = Field(description="how many items it starts with")
    copied_from: str | None = Field(None, description="the plan it was copied from")


class PlanItemFacts(IntegrationEvent):
    """What every plan item event carries (no type of its own)."""

    topic = "events.plan"
    subject_field = "plan_id"

    plan_id: str = Field(description="the plan (aggregate id, the Kafka key)")
    year: int = Field(description="the plan's year")
    campus: str = Field(description="campus code, or `*` for the school-wide plan")
    item_id: str = Field(description="the item's id within its plan")
    title: str = Field(description="what is to be done (重点工作内容)")
    month_from: int = Field(description="first month (1-12)")
    month_to: int = Field(description="last month (1-12), the month it is due")
    owner: str = Field(description="who is responsible (负责人 / 部门), may be empty")
    status: str = Field(description="planned / in_progress / done / cancelled")


class PlanItemAdded(PlanItemFacts):
    """An item was added to a plan (新增工作要点)."""

    type = "events.plan.item_added.v1"
    summary = "新增工作要点"


class PlanItemChanged(PlanItemFacts):
    """An item's text, months, owner or links changed; `changed` names the fields."""

    type = "events.plan.item_changed.v1"
    summary = "工作要点变更"

    changed: list[str] = Field(description="names of the fields that changed")


class PlanItemStatusChanged(PlanItemFacts):
    """An item moved on (planned → in_progress → done, or cancelled)."""

    type = "events.plan.item_status_changed.v1"
    summary = "工作要点进度"

    previous: str = Field(description="the status before")


# -- the sports meet (趣味运动会) -----------------------------------------------------------


class SportsItemFacts(BaseModel):
    item_id: str = Field(description="item id within the meet (e1, e2 …)")
    name: str = Field(description="item name (项目名称)")
    kind: str = Field(description="individual / relay")
    measure: str = Field(description="time (lower wins) / score (higher wins) / rank (given)")


class SportsMeetSetUp(IntegrationEvent):
    """A sports-meet activity got its items and rules (运动会项目设置)."""

    type = "events.sports.meet_set_up.v1"
    topic = "events.sports"
    summary = "运动会项目设置"
    subject_field = "activity_id"

    activity_id: str = Field(description="the sports-meet activity (aggregate id)")
    title: str = Field(description="the activity's title")
    campus: str = Field(description="campus code, or `*` for the whole school")
    max_entries: int = Field(description="items one member may enter at most")
    points: list[int] = Field(description="team points for rank 1, 2, 3 …")
    items: list[SportsItemFacts] = Field(description="the items so far")


class SportsResultsRecorded(IntegrationEvent):
    """A cadre recorded (or corrected) one item's results (录入成绩); not public yet."""

    type = "events.sports.results_recorded.v1"
    topic = "events.sports"
    summary = "录入成绩"
    subject_field = "activity_id"

    activity_id: str = Field(description="the sports-meet activity")
    campus: str = Field(description="campus code, or `*`")
    item_id: str = Field(description="the item")
    item_name: str = Field(description="the item's name")
    results: int = Field(description="how many results it has now")


class TeamStanding(BaseModel):
    rank: int = Field(description="place of the team (ties share it)")
    team: str = Field(description="the team: a department (部门)")
    points: int = Field(description="points by the meet's points table")
    firsts: int = Field(description="first places (the first tie-break)")


class PodiumPlace(BaseModel):
    rank: int
    team: str = Field(description="department")
    member_id: str | None = Field(None, description="the member (individual items)")


class ItemPodium(BaseModel):
    item_id: str
    name: str
    places: list[PodiumPlace] = Field(description="the places that score points")


class SportsResultsPublished(IntegrationEvent):
    """The meet's results were published (成绩公布): every member of its scope may see them;
    a correction publishes again with the next `revision`."""

    type = "events.sports.results_published.v1"
    topic = "events.sports"
    summary = "运动会成绩公布"
    subject_field = "activity_id"

    activity_id: str = Field(description="the sports-meet activity")
    title: str = Field(description="the activity's title")
    campus: str = Field(description="campus code, or `*`")
    revision: int = Field(description="1 for the first publication, then 2, 3 … per correction")
    standings: list[TeamStanding] = Field(description="team standings (团体总分)")
    podiums: list[ItemPodium] = Field(description="per item, the places that score")

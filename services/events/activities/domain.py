"""Pure activity rules (活动): kinds, the lifecycle, times and capacity (who may sign up is
`eligibility.py`).

An activity is read by more than the sign-up: the annual plan links its items to activities
and the calendar feed shows them, so its facts are plain fields — `kind`, `title`,
`campus` (a campus code, or `*` for the whole school), `venue`, `starts_at` / `ends_at` and
the sign-up window in UTC, `status` — and `Activity.facts()` is the one place they are read
for events.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.events.activities.eligibility import Eligibility
from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityCompleted,
    ActivityDrafted,
    ActivityFacts,
    ActivityPublished,
    ActivityRegistrationClosed,
    EligibilityFacts,
)
from shared.text import VISIBLE_TEXT, normalize
from shared.timeutil import Moment, as_local, in_range, to_utc
from shared.vocabulary.events import ActivityKind, ActivityStatus

SCOPE_TEXT = r"^(\*|[a-z][a-z0-9-]{0,31})$"  # a campus code, or * for the whole school
ALL = "*"

# Text over several lines (a description): no control characters but line breaks and tabs.
TEXT_BLOCK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


# What a request may say: the code or its Chinese label (a Literal for the schema, so written
# out; a unit test holds it equal to ActivityKind's codes and labels).
KindText = Literal[
    "outing",
    "sports_meet",
    "lecture",
    "competition",
    "celebration",
    "volunteering",
    "blood_donation",
    "ceremony",
    "training",
    "quiz",
    "counselling",
    "cultural_sports",
    "speech",
    "other",
    "春秋游",
    "运动会",
    "讲座",
    "竞赛",
    "节日庆祝",
    "志愿服务",
    "无偿献血",
    "仪式典礼",
    "培训",
    "知识竞答",
    "心理咨询",
    "文体活动",
    "演讲征文",
    "其他",
]


def kind_of(text: str) -> ActivityKind:
    return ActivityKind.of(text)


OPEN = frozenset(
    {ActivityStatus.draft, ActivityStatus.published, ActivityStatus.registration_closed}
)
LIVE = frozenset({ActivityStatus.published, ActivityStatus.registration_closed})

# action -> (states it may start from, end state, label)
TRANSITIONS: dict[str, tuple[frozenset[ActivityStatus], ActivityStatus | None, str]] = {
    "publish": (frozenset({ActivityStatus.draft}), ActivityStatus.published, "发布"),
    "close": (
        frozenset({ActivityStatus.published}),
        ActivityStatus.registration_closed,
        "截止报名",
    ),
    "complete": (LIVE, ActivityStatus.completed, "结束"),
    "cancel": (OPEN, ActivityStatus.cancelled, "取消"),
    "edit": (OPEN, None, "修改"),
}

# -- commands ---------------------------------------------------------------------------------


class _Editable(BaseModel):
    """The fields a cadre sets when drafting and may change later (PATCH: only those sent)."""

    title: str = Field(max_length=100, pattern=VISIBLE_TEXT, description="活动名称")
    description: str = Field("", max_length=4000, pattern=TEXT_BLOCK, description="活动说明")
    venue: str = Field(max_length=200, pattern=VISIBLE_TEXT, description="地点")
    starts_at: Moment = Field(description="开始时间（不带时区即北京时间）")
    ends_at: Moment = Field(description="结束时间（不带时区即北京时间）")
    signup_opens_at: Moment | None = Field(None, description="报名开始；默认发布即开始")
    signup_closes_at: Moment | None = Field(None, description="报名截止；默认活动开始")
    capacity: int | None = Field(None, ge=1, le=100_000, description="名额（含家属）；空为不限")
    waitlist: bool = Field(True, description="额满后可候补")
    guests_max: int = Field(0, ge=0, le=10, description="每人可带家属人数（家属占名额）")
    eligibility: Eligibility = Field(default_factory=Eligibility, description="报名条件")


class DraftActivity(_Editable):
    """Command: draft an activity (草稿); a cadre publishes it when it is ready."""

    kind: KindText = Field(description="活动类型（代码或中文）")
    campus: str = Field(
        max_length=32, pattern=SCOPE_TEXT, description="校区代码；* 为全校活动", examples=["main"]
    )
    ref: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
        description="外部编号（如计划条目、导入批次）：同一校区同一编号只建一次",
    )


class EditActivity(BaseModel):
    """Command: change an activity; only the fields sent. While sign-up runs the capacity may
    only grow (seats already given stay given)."""

    title: str | None = Field(None, max_length=100, pattern=VISIBLE_TEXT)
    description: str | None = Field(None, max_length=4000, pattern=TEXT_BLOCK)
    venue: str | None = Field(None, max_length=200, pattern=VISIBLE_TEXT)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    signup_opens_at: Moment | None = None
    signup_closes_at: Moment | None = None
    capacity: int | None = Field(None, ge=1, le=100_000, description="名额；发送 null 为不限")
    waitlist: bool | None = None
    guests_max: int | None = Field(None, ge=0, le=10)
    eligibility: Eligibility | None = None


# -- the aggregate ----------------------------------------------------------------------------


class Activity(Aggregate):
    """An activity (活动). `campus` is its scope: a campus code, or `*` for the school."""

    kind: ActivityKind
    title: str
    description: str = ""
    venue: str
    starts_at: datetime  # UTC
    ends_at: datetime  # UTC
    signup_opens_at: datetime | None = None  # UTC; None: from publishing
    signup_closes_at: datetime | None = None  # UTC; None: until the start
    capacity: int | None = None
    waitlist: bool = True
    guests_max: int = 0
    eligibility: Eligibility = Field(default_factory=Eligibility)
    status: ActivityStatus = ActivityStatus.draft
    ref: str | None = None
    created_by: str = ""
    published_at: datetime | None = None
    cancel_reason: str | None = None

    # What subscribers learn (ActivityFacts reads these by name).
    @property
    def activity_id(self) -> str:
        return self.id

    @property
    def kind_label(self) -> str:
        return self.kind.label

    @property
    def school_wide(self) -> bool:
        return self.campus == ALL

    @property
    def starts_on(self) -> date:
        """The local day it starts (Asia/Shanghai)."""
        return as_local(self.starts_at).date()

    def signup_deadline(self) -> datetime:
        return self.signup_closes_at or self.starts_at

    def facts(self, event: type[ActivityFacts], **extra: Any) -> ActivityFacts:
        return event.of(
            self,
            eligibility=EligibilityFacts(**self.eligibility.model_dump()),
            **extra,
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def publish(self, now: datetime) -> None:
        self._move("publish")
        if self.starts_at <= now:
            raise Conflict(
                "activity.in_the_past", "活动开始时间已过，不能发布", starts_at=self.starts_at
            )
        self.published_at = now
        self.record(self.facts(ActivityPublished))

    def close_registration(self) -> None:
        self._move("close")
        self.record(self.facts(ActivityRegistrationClosed))

    def complete(self, now: datetime) -> None:
        self._check("complete")
        if now < self.starts_at:
            raise Conflict(
                "activity.not_started", "活动尚未开始，不能结束", starts_at=self.starts_at
            )
        self._move("complete")
        self.record(self.facts(ActivityCompleted))

    def cancel(self, reason: str) -> None:
        reason = normalize(reason)
        self._move("cancel")
        self.cancel_reason = reason
        self.record(self.facts(ActivityCancelled, reason=reason))

    def edit(self, cmd: EditActivity) -> None:
        """Change the fields sent; a no-op when nothing changes."""
        self._check("edit")
        given = cmd.model_dump(exclude_unset=True)
        values = _clean_editable(given)
        if "capacity" in values and self.status in LIVE:
            old, new = self.capacity, values["capacity"]
            if new != old and (old is None or (new is not None and new < old)):
                raise Conflict(
                    "activity.capacity_shrink",
                    "报名已开始，名额只能增加（已确认的名额不会收回）",
                    capacity=old,
                )
        changed = sorted(k for k, v in values.items() if getattr(self, k) != v)
        for key in changed:
            setattr(self, key, values[key])
        if changed:
            check_times(self)
            check_scope(self.campus, self.eligibility)
            self.record(self.facts(ActivityChanged, changed=changed))

    def _check(self, action: str) -> None:
        allowed, _, label = TRANSITIONS[action]
        if self.status not in allowed:
            raise Conflict(
                "activity.invalid_transition",
                f"活动当前状态为「{self.status.label}」，不能{label}",
                current=self.status.value,
                action=action,
            )

    def _move(self, action: str) -> None:
        self._check(action)
        target = TRANSITIONS[action][1]
        assert target is not None
        self.status = target


# -- creating one -----------------------------------------------------------------------------


def activity_id_for(campus: str, ref: str | None) -> str:
    """A new id, or one derived from (campus, ref): the same reference drafts once."""
    if ref is None:
        return "a-" + uuid.uuid4().hex[:12]
    return "a-" + hashlib.sha256(f"{campus}\x00{ref}".encode()).hexdigest()[:12]


def draft(cmd: DraftActivity, by: str) -> Activity:
    values = _clean_editable(cmd.model_dump(include=set(_Editable.model_fields)))
    campus = normalize(cmd.campus)
    activity = Activity(
        id=activity_id_for(campus, cmd.ref),
        campus=campus,
        kind=kind_of(cmd.kind),
        ref=cmd.ref,
        created_by=by,
        **values,
    )
    check_times(activity)
    check_scope(activity.campus, activity.eligibility)
    activity.record(activity.facts(ActivityDrafted))
    return activity


def check_times(activity: Activity) -> None:
    """The times must make sense together (409: the request is well formed, the plan is not)."""
    moments = [activity.starts_at, activity.ends_at, activity.signup_opens_at]
    moments.append(activity.signup_closes_at)
    if not all(in_range(m) for m in moments if m is not None):
        raise Conflict("activity.invalid_times", "活动时间应在 2000 至 2100 年之间")
    if activity.ends_at <= activity.starts_at:
        raise Conflict("activity.invalid_times", "结束时间应晚于开始时间")
    opens, closes = activity.signup_opens_at, activity.signup_closes_at
    if closes is not None and closes > activity.starts_at:
        raise Conflict("activity.invalid_times", "报名截止时间不能晚于活动开始时间")
    if opens is not None and opens >= (closes or activity.starts_at):
        raise Conflict("activity.invalid_times", "报名开始时间应早于报名截止时间")
    rule = activity.eligibility
    if rule.age_min is not None and rule.age_max is not None and rule.age_min > rule.age_max:
        raise Conflict("activity.invalid_age_range", "最小年龄不能大于最大年龄")


def check_scope(campus: str, rule: Eligibility) -> None:
    """A campus activity is for its campus: naming other campuses contradicts the scope."""
    if campus != ALL and rule.campuses and set(rule.campuses) != {campus}:
        raise Conflict(
            "activity.invalid_campuses",
            f"校区活动只面向本校区「{campus}」；面向多个校区请建全校活动",
            campus=campus,
        )


# Fields that always have a value: a null in a change means "leave it".
NOT_NULLABLE = frozenset(
    {
        "title",
        "description",
        "venue",
        "starts_at",
        "ends_at",
        "waitlist",
        "guests_max",
        "eligibility",
    }
)


def _clean_editable(given: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in given.items():
        if value is None and key in NOT_NULLABLE:
            continue  # a null means "unchanged"
        if key in ("title", "venue"):
            out[key] = normalize(value)
        elif key == "description":
            out[key] = value.strip()
        elif key in ("starts_at", "ends_at", "signup_opens_at", "signup_closes_at"):
            if value is not None and not in_range(value, 1901, 2199):
                raise Conflict("activity.invalid_times", "活动时间应在 2000 至 2100 年之间")
            out[key] = to_utc(value) if value is not None else None
        elif key == "eligibility":
            out[key] = Eligibility.model_validate(value).cleaned()
        else:
            out[key] = value
    return out

"""Who may sign up for an activity (报名条件): the rule an activity states, and the one check
that names the first rule refusing a member, with a plain Chinese reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field, StringConstraints

from shared.text import VISIBLE_TEXT, normalize
from shared.vocabulary.members import Gender

CODE_TEXT = r"^[a-z][a-z0-9-]{0,31}$"  # campus and small-group codes, as members defines them
Code = Annotated[str, StringConstraints(max_length=32, pattern=CODE_TEXT)]
Department = Annotated[str, StringConstraints(max_length=64, pattern=VISIBLE_TEXT)]

MemberStatusText = Literal["active", "retired"]
# A rule's words in a sentence ("本活动仅限在职会员参加", "仅限工会主席参加"), not the labels of
# shared.vocabulary: a member reads them as conditions, not as a status or a role shown.
MEMBER_STATUS_ZH = {"active": "在职", "retired": "退休"}
GenderText = Literal["female", "male"]
RoleText = Literal["chair", "vice_chair", "committee", "group_leader", "finance", "auditor"]
ROLE_ZH = {
    "chair": "工会主席",
    "vice_chair": "工会副主席",
    "committee": "工会委员",
    "group_leader": "小组长",
    "finance": "经费管理人员",
    "auditor": "经费审查委员",
}


def _active_only() -> list[MemberStatusText]:
    return ["active"]


class Eligibility(BaseModel):
    """Who may sign up (报名条件). Every list empty means no restriction of that kind."""

    campuses: list[Code] = Field(
        default_factory=list, max_length=20, description="限校区（全校活动时）；校区活动即为该校区"
    )
    departments: list[Department] = Field(default_factory=list, max_length=50, description="限部门")
    gender: GenderText | None = Field(None, description="限女职工 female / 男职工 male")
    statuses: list[MemberStatusText] = Field(
        default_factory=_active_only,
        min_length=1,
        max_length=2,
        description="会员状态：在职 active（默认），退休 retired 可加入",
    )
    age_min: int | None = Field(None, ge=16, le=100, description="最小年龄（活动开始时）")
    age_max: int | None = Field(None, ge=16, le=100, description="最大年龄（活动开始时）")
    roles: list[RoleText] = Field(default_factory=list, max_length=6, description="限工会职务")
    small_groups: list[Code] = Field(
        default_factory=list, max_length=50, description="限教工小家（代码）"
    )

    def cleaned(self) -> Eligibility:
        return Eligibility(
            campuses=_unique(normalize(c) for c in self.campuses),
            departments=_unique(normalize(d) for d in self.departments),
            gender=self.gender,
            statuses=sorted(set(self.statuses)),
            age_min=self.age_min,
            age_max=self.age_max,
            roles=sorted(set(self.roles)),
            small_groups=_unique(normalize(g) for g in self.small_groups),
        )


# -- who may sign up --------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A member as the member directory knows them (the facts of `members.member` events)."""

    id: str
    name: str
    campus: str
    department: str
    status: str
    gender: str | None = None
    birthday: str | None = None  # MM-DD
    birth_year: int | None = None
    small_group: str | None = None
    roles: tuple[str, ...] = ()

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Person:
        return cls(
            id=doc["_id"],
            name=doc.get("name") or "",
            campus=doc.get("campus") or "",
            department=doc.get("department") or "",
            status=doc.get("status") or "active",
            gender=doc.get("gender"),
            birthday=doc.get("birthday"),
            birth_year=doc.get("birth_year"),
            small_group=doc.get("small_group"),
            roles=tuple(doc.get("roles") or ()),
        )

    def age_on(self, day: date) -> int | None:
        if self.birth_year is None:
            return None
        age = day.year - self.birth_year
        if self.birthday and day.strftime("%m-%d") < self.birthday:
            age -= 1
        return age


@dataclass(frozen=True)
class Refusal:
    """Why a member may not sign up: the rule (a stable name) and a plain Chinese sentence.

    A rule on campuses or small groups also gives their `codes` and the sentence as a
    `template` with {} for their *names*: events knows the codes, a page that knows the
    names (the web front end asks members) shows "主校区" where the message says "main"."""

    rule: str
    message: str
    codes: tuple[str, ...] = ()
    template: str | None = None


@dataclass(frozen=True)
class Condition:
    """One sign-up condition as a sentence; `codes`/`template` as for `Refusal`."""

    rule: str
    text: str
    codes: tuple[str, ...] = ()
    template: str | None = None


class Offered(Protocol):
    """What the rule reads of an activity (`domain.Activity` is one); named here so that the
    rule does not import the activity that holds it."""

    @property
    def eligibility(self) -> Eligibility: ...
    @property
    def campus(self) -> str: ...
    @property
    def school_wide(self) -> bool: ...
    @property
    def starts_on(self) -> date: ...


def _listing(values: Any, labels: dict[str, str] | None = None) -> str:
    return "、".join((labels or {}).get(v, v) for v in values)


def refusal(activity: Offered, person: Person) -> Refusal | None:
    """The first rule of the activity that refuses `person`, or None when they may sign up."""
    rule = activity.eligibility
    if person.status not in rule.statuses:
        if person.status in ("withdrawn", "deceased", "rejected", "applied"):
            return Refusal("status", "只有工会会员才能报名（您当前不是在会会员）")
        wanted = _listing(rule.statuses, MEMBER_STATUS_ZH)
        return Refusal("status", f"本活动仅限{wanted}会员参加")
    campuses = rule.campuses or ([] if activity.school_wide else [activity.campus])
    if campuses and person.campus not in campuses:
        return Refusal(
            "campus",
            f"本活动仅限{_listing(campuses)}校区教职工参加",
            tuple(campuses),
            "本活动仅限{}教职工参加",
        )
    if rule.departments and person.department not in rule.departments:
        return Refusal("department", f"本活动仅限{_listing(rule.departments)}教职工参加")
    if rule.gender is not None and person.gender != rule.gender:
        return Refusal("gender", f"本活动仅限{Gender(rule.gender).label}教职工参加")
    if rule.age_min is not None or rule.age_max is not None:
        age = person.age_on(activity.starts_on)
        low = rule.age_min if rule.age_min is not None else 0
        high = rule.age_max if rule.age_max is not None else 200
        if age is None:
            return Refusal("age", "本活动有年龄要求，您的出生日期未登记，请联系工会干部")
        if not low <= age <= high:
            span = (
                f"{low}–{high} 岁"
                if rule.age_min is not None and rule.age_max is not None
                else f"{low} 岁及以上"
                if rule.age_min is not None
                else f"{high} 岁及以下"
            )
            return Refusal("age", f"本活动仅限 {span}的教职工参加")
    if rule.roles and not set(rule.roles) & set(person.roles):
        return Refusal("role", f"本活动仅限{_listing(rule.roles, ROLE_ZH)}参加")
    if rule.small_groups and person.small_group not in rule.small_groups:
        return Refusal(
            "small_group",
            f"本活动仅限教工小家（{_listing(rule.small_groups)}）成员参加",
            tuple(rule.small_groups),
            "本活动仅限教工小家（{}）成员参加",
        )
    return None


def conditions(activity: Offered) -> list[Condition]:
    """The activity's sign-up conditions as plain sentences, for the member's page (empty:
    every active member of its campus, or of the school, may sign up)."""
    rule = activity.eligibility
    out: list[Condition] = []
    if rule.statuses != ["active"]:
        out.append(Condition("status", f"会员状态：{_listing(rule.statuses, MEMBER_STATUS_ZH)}"))
    campuses = rule.campuses or ([] if activity.school_wide else [activity.campus])
    if campuses:
        out.append(Condition("campus", f"校区：{_listing(campuses)}", tuple(campuses), "校区：{}"))
    if rule.departments:
        out.append(Condition("department", f"部门：{_listing(rule.departments)}"))
    if rule.gender is not None:
        out.append(Condition("gender", f"本活动仅限{Gender(rule.gender).label}教职工"))
    if rule.age_min is not None and rule.age_max is not None:
        out.append(Condition("age", f"年龄：{rule.age_min}–{rule.age_max} 岁（以活动当天计）"))
    elif rule.age_min is not None:
        out.append(Condition("age", f"年龄：{rule.age_min} 岁及以上（以活动当天计）"))
    elif rule.age_max is not None:
        out.append(Condition("age", f"年龄：{rule.age_max} 岁及以下（以活动当天计）"))
    if rule.roles:
        out.append(Condition("role", f"工会职务：{_listing(rule.roles, ROLE_ZH)}"))
    if rule.small_groups:
        groups = tuple(rule.small_groups)
        out.append(
            Condition("small_group", f"教工小家：{_listing(groups)}", groups, "教工小家：{}")
        )
    return out


def _unique(values: Any) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v:
            seen.setdefault(v, None)
    return list(seen)

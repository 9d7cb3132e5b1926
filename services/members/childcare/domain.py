"""Childcare enrolment survey rules (教职工子女入园入托统计), pure: no I/O.

A member keeps their children on their own record (`Member.children`, a versioned change like
any other edit). Every April a cadre opens a *round* for a campus and a survey date; the
campus's active members confirm or update their children in it; the cadre sees who has not
answered and, per round, how many children there are by campus, age band at the survey date,
care status and institution.

Age bands count completed years on the survey date: 0–2 (托班 age), 3–5 (幼儿园 age), 6–11
(小学 age), 12+. A child born after the survey date is not counted in that round.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

# A member's children are part of their record (membership); the survey counts them.
from services.members.membership.children import CareStatus as CareStatus
from services.members.membership.children import Child as Child
from services.members.membership.children import clean_children as clean_children
from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.members import ChildcareRoundClosed, ChildcareRoundOpened
from shared.text import VISIBLE_TEXT, normalize
from shared.timeutil import Day

MAX_CHILDREN = 10


# -- age bands --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeBand:
    code: str
    label: str
    low: int  # completed years, inclusive
    high: int | None  # inclusive; None: no upper end


AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("0-2", "0–2岁", 0, 2),
    AgeBand("3-5", "3–5岁", 3, 5),
    AgeBand("6-11", "6–11岁", 6, 11),
    AgeBand("12+", "12岁及以上", 12, None),
)
BAND_LABEL = {b.code: b.label for b in AGE_BANDS}


def age_on(birth_date: date, day: date) -> int | None:
    """Completed years on `day`; None when born after it. Born on 29 February: a year is
    completed on 1 March in other years (the day after 28 February)."""
    if birth_date > day:
        return None
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_band(birth_date: date, survey_date: date) -> str | None:
    """The band code of a child on the survey date; None when not born yet."""
    age = age_on(birth_date, survey_date)
    if age is None:
        return None
    for band in AGE_BANDS:
        if band.low <= age and (band.high is None or age <= band.high):
            return band.code
    raise AssertionError(f"no band for age {age}")  # the bands cover 0..∞


# -- the round --------------------------------------------------------------------------------


class RoundStatus(StrEnum):
    open = "open"  # 收集中
    closed = "closed"  # 已结束


class OpenRound(BaseModel):
    """Command: a cadre opens a round for a campus and a survey date."""

    campus: str = Field(max_length=32, pattern=r"^[a-z][a-z0-9-]{0,31}$", description="校区代码")
    survey_date: Day = Field(description="统计日期：子女年龄按这一天计算")
    title: str | None = Field(
        None,
        max_length=64,
        pattern=VISIBLE_TEXT,
        description="标题；默认「<年份>年教职工子女入园入托统计」",
    )
    deadline: Day | None = Field(None, description="填报截止日期（提醒用）")


def round_id_for(campus: str, survey_date: date) -> str:
    """One round per campus and survey date, by construction: two cadres opening the same
    round at once race for the same key and one wins."""
    return f"cc-{campus}-{survey_date:%Y%m%d}"


class Round(Aggregate):
    """A collection round of the childcare enrolment survey for one campus."""

    title: str
    survey_date: date
    deadline: date | None = None
    status: RoundStatus = RoundStatus.open
    opened_on: date
    closed_on: date | None = None
    answered: int | None = None  # frozen when it closes
    expected: int | None = None

    @property
    def round_id(self) -> str:
        return self.id

    def close(self, on: date, answered: int, expected: int) -> None:
        if self.status is RoundStatus.closed:
            raise Conflict(
                "childcare.round_closed",
                f"「{self.title}」已结束",
                round_id=self.id,
                current=self.status.value,
            )
        self.status, self.closed_on = RoundStatus.closed, on
        self.answered, self.expected = answered, expected
        self.record(ChildcareRoundClosed.of(self))

    def require_open(self) -> None:
        if self.status is not RoundStatus.open:
            raise Conflict(
                "childcare.round_closed",
                f"「{self.title}」已结束，不能再填报",
                round_id=self.id,
                current=self.status.value,
            )


def open_round(cmd: OpenRound, today: date) -> Round:
    title = normalize(cmd.title) if cmd.title else ""
    found = Round(
        id=round_id_for(cmd.campus, cmd.survey_date),
        campus=cmd.campus,
        title=title or f"{cmd.survey_date.year}年教职工子女入园入托统计",
        survey_date=cmd.survey_date,
        deadline=cmd.deadline,
        opened_on=today,
    )
    found.record(ChildcareRoundOpened.of(found))
    return found


# -- answers and statistics -------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One member's answer in a round, as it stands (the latest of its revisions)."""

    round_id: str
    member_id: str
    campus: str
    revision: int  # 1: the first answer; a later one after the member changed their children
    member_version: int  # the member record the children were read from
    at: datetime
    children: list[Child]

    @property
    def order(self) -> tuple[int, int]:
        # By the member record first: of two confirmations racing around an edit, the one that
        # read the newer record stands, whichever was written last.
        return (self.member_version, self.revision)


def latest_answers(revisions: Iterable[Answer]) -> list[Answer]:
    """Each member's answer as it stands: the revision read from their newest record."""
    latest: dict[str, Answer] = {}
    for answer in revisions:
        current = latest.get(answer.member_id)
        if current is None or answer.order > current.order:
            latest[answer.member_id] = answer
    return sorted(latest.values(), key=lambda a: a.member_id)


def needs_revision(revisions: Sequence[Answer], children: list[Child], member_version: int) -> bool:
    """Whether confirming now adds a revision: not when the answer as it stands already says
    these children, or was read from this record (or a newer one) — confirming twice is one
    answer."""
    if not revisions:
        return True
    [standing] = latest_answers(revisions)
    return standing.children != children and standing.member_version < member_version


@dataclass(frozen=True)
class Group:
    campus: str
    age_band: str
    care_status: CareStatus
    institution: str  # "" when none is given
    count: int


@dataclass
class Tally:
    """The counts of one round (or several): by every key together, and by each alone."""

    survey_date: date
    answered: int = 0
    children: int = 0
    not_born_yet: int = 0  # stated, but born after the survey date: not counted
    groups: list[Group] = field(default_factory=list)
    by_campus: dict[str, int] = field(default_factory=dict)
    by_age_band: dict[str, int] = field(default_factory=dict)
    by_care_status: dict[str, int] = field(default_factory=dict)
    by_institution: dict[str, int] = field(default_factory=dict)


def tally(answers: Sequence[Answer], survey_date: date) -> Tally:
    """Count the children of the answers (one per member: pass `latest_answers`)."""
    result = Tally(survey_date=survey_date, answered=len(answers))
    keys: Counter[tuple[str, str, CareStatus, str]] = Counter()
    for answer in answers:
        for child in answer.children:
            band = age_band(child.birth_date, survey_date)
            if band is None:
                result.not_born_yet += 1
                continue
            keys[(answer.campus, band, child.care_status, child.institution or "")] += 1
    order = {b.code: i for i, b in enumerate(AGE_BANDS)}
    status_order = {s: i for i, s in enumerate(CareStatus)}
    result.groups = [
        Group(campus, band, status, institution, count)
        for (campus, band, status, institution), count in sorted(
            keys.items(),
            key=lambda kv: (kv[0][0], order[kv[0][1]], status_order[kv[0][2]], kv[0][3]),
        )
    ]
    result.children = sum(keys.values())
    by_band: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_campus: Counter[str] = Counter()
    by_institution: Counter[str] = Counter()
    for g in result.groups:
        by_campus[g.campus] += g.count
        by_band[g.age_band] += g.count
        by_status[g.care_status.value] += g.count
        if g.institution:
            by_institution[g.institution] += g.count
    result.by_campus = dict(sorted(by_campus.items()))
    result.by_age_band = {b.code: by_band.get(b.code, 0) for b in AGE_BANDS}
    result.by_care_status = {s.value: by_status.get(s.value, 0) for s in CareStatus}
    result.by_institution = dict(sorted(by_institution.items(), key=lambda kv: (-kv[1], kv[0])))
    return result

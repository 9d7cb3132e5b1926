"""Pure rules of surveys (问卷 / 意见征集): questions, the audience, the times, the answers.

A survey is an aggregate (its questions inside it: a survey is small and its text is fixed
once published). Its audience is the activity rule (`activities.eligibility`): campus,
department, gender, status, role. It is drafted, published (members may answer from
`opens_at` to `closes_at`), and closed at `closes_at` by the scheduled job (or early by a
cadre). Answers are not part of the aggregate: each is a unique-key insert (see `store.py`),
and `check_answers` here says whether an answer fits the questions. `results_disclosed` says
when the results may show what was answered (an anonymous survey's: after it closes).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, StringConstraints, model_validator

from services.events.activities.eligibility import Eligibility
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid
from shared.events.events import EligibilityFacts
from shared.events.voice import (
    SurveyClosed,
    SurveyClosingSoon,
    SurveyDrafted,
    SurveyFacts,
    SurveyOpened,
    SurveyPublished,
)
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, normalize
from shared.timeutil import as_local, to_utc

ALL = "*"
SURVEY_ID = r"^sv-[0-9a-f]{12}$"
SCOPE_TEXT = r"^(\*|[a-z][a-z0-9-]{0,31})$"
TEXT_BLOCK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
CLOSING_SOON = timedelta(hours=24)  # the reminder goes out this long before the close
MAX_QUESTIONS = 50
MAX_OPTIONS = 20

F = TypeVar("F", bound=SurveyFacts)
Option = Annotated[str, StringConstraints(max_length=100, pattern=VISIBLE_TEXT)]


class QuestionKind(Labelled):
    single = "single", "单选"
    multiple = "multiple", "多选"
    rating = "rating", "评分"
    text = "text", "填空"
    ranking = "ranking", "排序"


class SurveyStatus(Labelled):
    draft = "draft", "草稿"
    published = "published", "已发布"
    closed = "closed", "已结束"


class Phase(Labelled):
    """Where a survey stands for a member at a moment."""

    draft = "draft", "草稿"
    upcoming = "upcoming", "未开始"
    open = "open", "填写中"
    closed = "closed", "已结束"


CHOICES = frozenset({QuestionKind.single, QuestionKind.multiple, QuestionKind.ranking})


def results_disclosed(anonymous: bool, closed: bool) -> bool:
    """Whether a survey's results may show what was answered (counts and percentages per
    option, ratings, rankings, texts, and the exports of them), or only how many answered.

    A named survey's always. An anonymous survey's only once it has closed: while answers
    still come in, a cadre who looks before and after one member answers sees which option,
    score or text that one answer added, and anonymity is gone. How many answered, overall
    and per campus and department, comes from the "already answered" marks and says nothing
    of what anyone answered, so it is shown throughout."""
    return closed or not anonymous


class QuestionIn(BaseModel):
    """One question as a cadre writes it."""

    kind: QuestionKind = Field(description="single 单选 / multiple 多选 / rating 评分 / …")
    title: str = Field(max_length=200, pattern=VISIBLE_TEXT, description="题目")
    required: bool = Field(True, description="必答")
    options: list[Option] = Field(
        default_factory=list, max_length=MAX_OPTIONS, description="选项（单选、多选、排序）"
    )
    min_choices: int | None = Field(None, ge=0, le=MAX_OPTIONS, description="多选：最少选几项")
    max_choices: int | None = Field(None, ge=1, le=MAX_OPTIONS, description="多选：最多选几项")
    scale: int = Field(5, ge=2, le=10, description="评分：满分（1 到 N 分）")
    max_length: int = Field(500, ge=1, le=2000, description="填空：最多字数")


class Question(BaseModel):
    id: str
    kind: QuestionKind
    title: str
    required: bool = True
    options: list[str] = Field(default_factory=list)
    min_choices: int | None = None
    max_choices: int | None = None
    scale: int = 5
    max_length: int = 500


class PlanRef(BaseModel):
    """The plan item a survey belongs to (网上调查表 in 2月, 暑期意见征集 in 6月 …)."""

    plan_id: str = Field(max_length=40, pattern=r"^pl-[0-9]{4}(-[a-z][a-z0-9-]{0,31})?$")
    item_id: str = Field(max_length=3, pattern=r"^[0-9]{2,3}$")


class NewSurvey(BaseModel):
    """Command: draft a survey."""

    title: str = Field(max_length=100, pattern=VISIBLE_TEXT, description="问卷名称")
    description: str = Field("", max_length=2000, pattern=TEXT_BLOCK, description="说明")
    campus: str = Field(max_length=32, pattern=SCOPE_TEXT, description="校区，`*` 为全校")
    anonymous: bool = Field(False, description="匿名问卷：答卷不记录答题人")
    allow_change: bool = Field(False, description="实名问卷：截止前可修改答卷")
    audience: Eligibility = Field(default_factory=Eligibility, description="填写对象（活动规则）")
    opens_at: datetime = Field(description="开始时间")
    closes_at: datetime = Field(description="截止时间")
    plan: PlanRef | None = Field(None, description="所属年度工作要点")
    questions: list[QuestionIn] = Field(min_length=1, max_length=MAX_QUESTIONS)

    @model_validator(mode="after")
    def _in_utc(self) -> NewSurvey:
        self.opens_at, self.closes_at = to_utc(self.opens_at), to_utc(self.closes_at)
        return self


def questions_of(given: list[QuestionIn]) -> list[Question]:
    """The questions numbered q1, q2 …, each checked for what its kind needs (422)."""
    out: list[Question] = []
    for number, q in enumerate(given, start=1):
        qid = f"q{number}"
        options = [normalize(o) for o in q.options]
        if q.kind in CHOICES:
            if len(options) < 2:
                raise Conflict(
                    "survey.too_few_options", f"第 {number} 题至少需要两个选项", question=qid
                )
            if len(set(options)) != len(options):
                raise Conflict("survey.option_twice", f"第 {number} 题有重复的选项", question=qid)
        elif options:
            raise Conflict(
                "survey.options_not_allowed",
                f"第 {number} 题（{q.kind.label}）不设选项",
                question=qid,
            )
        low, high = q.min_choices, q.max_choices
        if q.kind is QuestionKind.multiple:
            low = low if low is not None else (1 if q.required else 0)
            high = min(high if high is not None else len(options), len(options))
            if low > high:
                raise Conflict(
                    "survey.choices_range",
                    f"第 {number} 题最少选 {low} 项、最多选 {high} 项，范围不成立",
                    question=qid,
                )
        else:
            low = high = None
        out.append(
            Question(
                id=qid,
                kind=q.kind,
                title=normalize(q.title),
                required=q.required,
                options=options,
                min_choices=low,
                max_choices=high,
                scale=q.scale,
                max_length=q.max_length,
            )
        )
    return out


class Survey(Aggregate):
    """A survey (问卷). `campus` is its scope: a campus code, or `*` for the school."""

    title: str
    description: str = ""
    anonymous: bool = False
    allow_change: bool = False
    audience: Eligibility = Field(default_factory=Eligibility)
    opens_at: datetime
    closes_at: datetime
    plan_id: str | None = None
    item_id: str | None = None
    questions_list: list[Question] = Field(default_factory=list)
    status: SurveyStatus = SurveyStatus.draft
    opened: bool = False
    reminded: bool = False
    answer_count: int = 0  # written once, when it closes (the count is the answers' store)
    created_by: str = ""

    # -- what the rules and the events read -------------------------------------------------

    @property
    def survey_id(self) -> str:
        return self.id

    @property
    def questions(self) -> int:
        return len(self.questions_list)

    @property
    def eligibility(self) -> Eligibility:
        return self.audience

    @property
    def school_wide(self) -> bool:
        return self.campus == ALL

    @property
    def starts_on(self) -> date:
        return as_local(self.opens_at).date()

    def fact(self, event: type[F], **values: Any) -> F:
        audience = EligibilityFacts(**self.audience.model_dump())
        return event.of(self, audience=audience, **values)

    def phase(self, now: datetime) -> Phase:
        if self.status is SurveyStatus.draft:
            return Phase.draft
        if self.status is SurveyStatus.closed or now >= self.closes_at:
            return Phase.closed
        return Phase.open if now >= self.opens_at else Phase.upcoming

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions_list if q.id == qid), None)

    # -- moves --------------------------------------------------------------------------------

    def publish(self, now: datetime) -> None:
        if self.status is not SurveyStatus.draft:
            raise Conflict(
                "survey.not_draft", "问卷已发布，不能再次发布", current=self.status.value
            )
        if self.closes_at <= now:
            raise Conflict("survey.closes_in_past", "截止时间已过，请先修改时间再发布")
        self.status = SurveyStatus.published
        self.record(self.fact(SurveyPublished))
        self.open(now)

    def open(self, now: datetime) -> None:
        """Open for answers once its time has come (the job calls this; nothing to do else)."""
        if self.status is SurveyStatus.published and not self.opened and now >= self.opens_at:
            self.opened = True
            self.record(self.fact(SurveyOpened))

    def remind(self, now: datetime) -> None:
        """The closing-soon reminder, once, within a day of the close."""
        if (
            self.status is SurveyStatus.published
            and self.opened
            and not self.reminded
            and self.closes_at - CLOSING_SOON <= now < self.closes_at
        ):
            self.reminded = True
            self.record(self.fact(SurveyClosingSoon))

    def close(self, now: datetime, answers: int, early: bool = False) -> None:
        if self.status is SurveyStatus.closed:
            if early:
                raise Conflict("survey.closed", "问卷已结束", current=self.status.value)
            return
        if self.status is SurveyStatus.draft:
            raise Conflict("survey.not_published", "问卷尚未发布", current=self.status.value)
        if not early and now < self.closes_at:
            return
        self.status = SurveyStatus.closed
        if early and now < self.closes_at:
            self.closes_at = now
        self.answer_count = answers
        self.record(self.fact(SurveyClosed, answers=answers))


def draft(survey_id: str, cmd: NewSurvey, created_by: str) -> Survey:
    if cmd.closes_at <= cmd.opens_at:
        raise Conflict("survey.invalid_times", "截止时间应晚于开始时间")
    survey = Survey(
        id=survey_id,
        campus=cmd.campus,
        title=normalize(cmd.title),
        description=cmd.description.strip(),
        anonymous=cmd.anonymous,
        allow_change=cmd.allow_change and not cmd.anonymous,
        audience=cmd.audience.cleaned(),
        opens_at=cmd.opens_at,
        closes_at=cmd.closes_at,
        plan_id=cmd.plan.plan_id if cmd.plan else None,
        item_id=cmd.plan.item_id if cmd.plan else None,
        questions_list=questions_of(cmd.questions),
        created_by=created_by,
    )
    survey.record(survey.fact(SurveyDrafted))
    return survey


# -- answers ----------------------------------------------------------------------------------


def _bad(code: str, message: str, q: Question) -> Invalid:
    return Invalid(code, f"「{q.title}」{message}", question=q.id)


def _index(value: Any, q: Question) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad("answer.not_an_option", "请选择一个选项", q)
    if not 0 <= value < len(q.options):
        raise _bad("answer.not_an_option", "选项不存在", q)
    return value


def _indexes(value: Any, q: Question) -> list[int]:
    if not isinstance(value, list):
        raise _bad("answer.not_a_list", "请选择选项", q)
    picked = [_index(v, q) for v in value]
    if len(set(picked)) != len(picked):
        raise _bad("answer.option_twice", "同一选项选了两次", q)
    return picked


def check_answers(survey: Survey, given: dict[str, Any]) -> dict[str, Any]:
    """The answers as stored (question id → option index, indexes, a score or a text), or
    422 naming the first question answered wrongly or left out while required."""
    unknown = sorted(set(given) - {q.id for q in survey.questions_list})
    if unknown:
        raise Invalid("answer.unknown_question", "答卷中有不存在的题目", questions=unknown)
    out: dict[str, Any] = {}
    for q in survey.questions_list:
        value = given.get(q.id)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or value == []:
            if q.required:
                raise _bad("answer.required", "为必答题", q)
            continue
        if q.kind is QuestionKind.single:
            out[q.id] = _index(value, q)
        elif q.kind is QuestionKind.multiple:
            picked = _indexes(value, q)
            low, high = q.min_choices or 0, q.max_choices or len(q.options)
            if not low <= len(picked) <= high:
                raise _bad(
                    "answer.choices_count", f"请选择 {low}–{high} 项（已选 {len(picked)} 项）", q
                )
            out[q.id] = sorted(picked)
        elif q.kind is QuestionKind.ranking:
            order = _indexes(value, q)
            if len(order) != len(q.options):
                raise _bad("answer.ranking_incomplete", "请为全部选项排出先后", q)
            out[q.id] = order
        elif q.kind is QuestionKind.rating:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _bad("answer.not_a_score", "请打分", q)
            if not 1 <= value <= q.scale:
                raise _bad("answer.score_range", f"分数须在 1–{q.scale} 之间", q)
            out[q.id] = value
        else:
            if not isinstance(value, str):
                raise _bad("answer.not_text", "请填写文字", q)
            text = normalize(value) if "\n" not in value else value
            if len(text) > q.max_length:
                raise _bad("answer.too_long", f"最多 {q.max_length} 字", q)
            if any(ord(c) < 32 and c not in "\n\t" for c in text):
                raise _bad("answer.control_chars", "含有不可见字符", q)
            out[q.id] = text
    return out

"""Survey routes (问卷 / 意见征集): build and publish, answer once, results and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from services.events.activities.eligibility import Eligibility
from services.events.deps import Audit, Cadre
from services.events.surveys.domain import (
    SURVEY_ID,
    NewSurvey,
    Phase,
    QuestionKind,
    Survey,
    SurveyStatus,
)
from services.events.surveys.handlers import (
    Surveys,
    answer,
    change_answer,
    close_early,
    create,
    eligible,
    managed,
    mine,
    publish,
    results,
    visible,
    visible_scope,
)
from services.events.surveys.results import table
from shared.aggregate import Actor
from shared.auth import CurrentUser
from shared.export import csv_bytes, xlsx_bytes
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.timeutil import as_local, utcnow_ms

SurveysDep = Annotated[Surveys, Depends(provided("surveys"))]
SurveyId = Annotated[str, Path(pattern=SURVEY_ID, description="问卷编号，如 sv-3f2a9c0d1e2b")]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["问卷 surveys"])


class QuestionPublic(PublicModel):
    id: str = Field(description="题号 q1, q2 …")
    kind: QuestionKind
    kind_label: str
    title: str
    required: bool
    options: list[str]
    min_choices: int | None
    max_choices: int | None
    scale: int
    max_length: int


class SurveyPublic(PublicModel):
    id: str
    campus: str = Field(description="校区，`*` 为全校")
    title: str
    description: str
    anonymous: bool
    allow_change: bool
    audience: Eligibility
    opens_at: LocalDatetime
    closes_at: LocalDatetime
    plan_id: str | None
    item_id: str | None
    status: SurveyStatus
    status_label: str
    phase: Phase = Field(description="draft / upcoming 未开始 / open 填写中 / closed 已结束")
    phase_label: str
    questions: list[QuestionPublic]
    version: int


def survey_public(survey: Survey) -> SurveyPublic:
    phase = survey.phase(utcnow_ms())
    return SurveyPublic.of(
        survey, phase=phase, phase_label=phase.label, questions=survey.questions_list
    )


class SurveyPage(BaseModel):
    items: list[SurveyPublic]
    total: int
    limit: int
    offset: int


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
async def draft_survey(body: NewSurvey, surveys: SurveysDep, user: Cadre) -> SurveyPublic:
    """Draft a survey: questions, audience, times, named or anonymous, its plan item; role:
    cadre of its campus (`*`: of every campus)."""
    return survey_public(await create(surveys, body, user))


StatusFilter = Annotated[SurveyStatus | None, Query(description="draft / published / closed")]


@router.get("/surveys")
async def list_surveys(
    surveys: SurveysDep,
    user: CurrentUser,
    status_: Annotated[StatusFilter, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> SurveyPage:
    """Surveys of the caller's campuses and the school's, newest first (members: published
    ones; cadres: drafts too); role: any signed-in user."""
    query = visible_scope(user)
    if status_ is not None:
        if status_ is SurveyStatus.draft and "status" in query:
            return SurveyPage(items=[], total=0, limit=limit, offset=offset)
        query["status"] = status_.value
    store = surveys.book.store
    found = await store.find(query, sort=[("opens_at", -1), ("_id", 1)], skip=offset, limit=limit)
    return SurveyPage(
        items=[survey_public(s) for s in found],
        total=await store.count(query),
        limit=limit,
        offset=offset,
    )


@router.get("/surveys/{survey_id}")
async def get_survey(survey_id: SurveyId, surveys: SurveysDep, user: CurrentUser) -> SurveyPublic:
    """One survey with its questions; role: any signed-in user who may see it."""
    return survey_public(await visible(surveys, survey_id, user))


@router.post("/surveys/{survey_id}/publish")
async def publish_survey(survey_id: SurveyId, surveys: SurveysDep, user: Cadre) -> SurveyPublic:
    """Publish a draft (members may answer from its opening time); role: cadre of its campus."""
    survey = await visible(surveys, survey_id, user)
    return survey_public(await publish(surveys, survey, user))


@router.post("/surveys/{survey_id}/close")
async def close_survey(survey_id: SurveyId, surveys: SurveysDep, user: Cadre) -> SurveyPublic:
    """Close a published survey now, before its closing time; role: cadre of its campus."""
    survey = await visible(surveys, survey_id, user)
    return survey_public(await close_early(surveys, survey, user))


QuestionKey = Annotated[str, StringConstraints(pattern=r"^q[0-9]{1,2}$")]
AnswerValue = (
    Annotated[int, Field(ge=0, le=100)]
    | Annotated[list[Annotated[int, Field(ge=0, le=100)]], Field(max_length=20)]
    | Annotated[str, StringConstraints(max_length=2000)]
    | None
)


class AnswersBody(BaseModel):
    """Answers by question id: an option's index (单选), indexes (多选), indexes in order
    (排序, all options), a score 1..N (评分), a text (填空); leave out an optional one."""

    answers: dict[QuestionKey, AnswerValue] = Field(
        max_length=50,
        json_schema_extra={
            "propertyNames": {"pattern": r"^q[0-9]{1,2}$"},
            "additionalProperties": False,
        },
    )


class MyAnswer(BaseModel):
    survey_id: str
    anonymous: bool
    answered: bool
    answers: dict[str, Any] | None = Field(
        description="实名问卷：本人的答卷；匿名问卷：始终为空（答卷不与任何人关联）"
    )
    version: int | None = None
    at: datetime | None = None


def _my_answer(survey: Survey, found: dict[str, Any]) -> MyAnswer:
    at = found.get("at")
    return MyAnswer(
        survey_id=survey.id,
        anonymous=survey.anonymous,
        answered=found["answered"],
        answers=found.get("answers"),
        version=found.get("version"),
        at=as_local(at) if at else None,
    )


@router.post("/surveys/{survey_id}/answers", status_code=status.HTTP_201_CREATED)
async def answer_survey(
    survey_id: SurveyId, body: AnswersBody, surveys: SurveysDep, user: CurrentUser
) -> MyAnswer:
    """Answer while it is open, once (409 `survey.already_answered`); an anonymous answer is
    stored without the member; role: member in its audience."""
    survey = await visible(surveys, survey_id, user)
    given = await answer(surveys, survey, dict(body.answers), user)
    shown = None if survey.anonymous else given
    return MyAnswer(survey_id=survey.id, anonymous=survey.anonymous, answered=True, answers=shown)


@router.put("/surveys/{survey_id}/answers/mine")
async def change_my_answer(
    survey_id: SurveyId, body: AnswersBody, surveys: SurveysDep, user: CurrentUser
) -> MyAnswer:
    """Change one's named answer before the close, when the survey allows it (a new version;
    the results count the latest); role: member who answered."""
    survey = await visible(surveys, survey_id, user)
    await change_answer(surveys, survey, dict(body.answers), user)
    return _my_answer(survey, await mine(surveys, survey, user))


@router.get("/surveys/{survey_id}/answers/mine")
async def my_answer(survey_id: SurveyId, surveys: SurveysDep, user: CurrentUser) -> MyAnswer:
    """Whether I answered, and my named answer; role: any signed-in user who may see it."""
    survey = await visible(surveys, survey_id, user)
    return _my_answer(survey, await mine(surveys, survey, user))


class MySurvey(BaseModel):
    survey: SurveyPublic
    answered: bool
    not_asked: str | None = Field(description="不在填写范围时的原因；空为可以填写")


@router.get("/me/surveys")
async def my_surveys(surveys: SurveysDep, user: CurrentUser) -> list[MySurvey]:
    """The published surveys of my campus and the school: open ones first, whether I
    answered, and why I am not asked where I am not; role: any signed-in user."""
    query = {**visible_scope(user), "status": {"$ne": SurveyStatus.draft.value}}
    found = await surveys.book.store.find(query, sort=[("closes_at", -1)], limit=100)
    out = []
    for survey in found:
        done = await surveys.book.answered(survey, user.subject)
        out.append(
            MySurvey(
                survey=survey_public(survey),
                answered=done,
                not_asked=None if done else await eligible(surveys, survey, user),
            )
        )
    order = {Phase.open: 0, Phase.upcoming: 1, Phase.closed: 2, Phase.draft: 3}
    return sorted(out, key=lambda m: order[m.survey.phase])


class Results(BaseModel):
    survey: SurveyPublic
    respondents: int = Field(description="已作答人数")
    withheld_until_close: bool = Field(
        description="匿名问卷截止前为 true：只给作答人数与参与率，questions 为空，"
        "截止（closes_at）后公布全部结果；实名问卷始终为 false"
    )
    closes_at: LocalDatetime = Field(description="截止时间（匿名问卷的结果从此时公布）")
    questions: list[dict[str, Any]] = Field(
        description="每题：options（人数、占比）/ distribution 与 average（评分）/ "
        "ranking（Borda 得分）/ texts（填空）；结果未公布时为空"
    )
    turnout: dict[str, Any] = Field(
        description="参与率：合计、各校区、各部门（匿名问卷：不足 5 份的组合并）"
    )


@router.get("/surveys/{survey_id}/results")
async def survey_results(survey_id: SurveyId, surveys: SurveysDep, user: Cadre) -> Results:
    """Results, chart-ready: per option counts and percentages, rating averages and
    distributions, ranking scores (Borda), texts, response rates. An anonymous survey's
    answers are withheld until it closes (`withheld_until_close`: only how many answered and
    the response rates); role: cadre of its campus."""
    survey = await visible(surveys, survey_id, user)
    found = await results(surveys, survey, user)
    return Results(survey=survey_public(survey), closes_at=survey.closes_at, **found)


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "UTF-8（带 BOM，Excel 可直接打开）"}
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX: dict[int | str, dict[str, Any]] = {200: {"content": {XLSX_TYPE: {}}, "description": "XLSX"}}


async def _export(
    surveys: Surveys, survey_id: str, user: Any, audit: Any, kind: str
) -> tuple[Survey, list[str], list[list[Any]]]:
    survey = await visible(surveys, survey_id, user)
    managed(user, survey)
    header, rows = table(survey, await results(surveys, survey, user))
    await audit.record(Actor.of(user), f"export_survey_{kind}", survey.id, survey.campus)
    return survey, header, rows


@router.get("/surveys/{survey_id}/results.csv", response_class=Response, responses=CSV)
async def export_csv(
    survey_id: SurveyId, surveys: SurveysDep, audit: Audit, user: Cadre
) -> Response:
    """The results as CSV (one row per option, score or text; an anonymous survey's before
    its close: one row saying when they are out); role: cadre of its campus."""
    survey, header, rows = await _export(surveys, survey_id, user, audit, "csv")
    return Response(
        csv_bytes(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="survey-{survey.id}.csv"'},
    )


@router.get("/surveys/{survey_id}/results.xlsx", response_class=Response, responses=XLSX)
async def export_xlsx(
    survey_id: SurveyId, surveys: SurveysDep, audit: Audit, user: Cadre
) -> Response:
    """The results as XLSX (as the CSV); role: cadre of its campus."""
    survey, header, rows = await _export(surveys, survey_id, user, audit, "xlsx")
    return Response(
        xlsx_bytes("问卷结果", header, rows),
        media_type=XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="survey-{survey.id}.xlsx"'},
    )

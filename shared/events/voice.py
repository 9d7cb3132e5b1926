"""Events of members' voice in the events service (活动): surveys (`events.survey`) and the
suggestion box (`events.suggestion`).

A survey's events carry what notify needs to reach its audience without asking anyone: the
scope, the audience rule, title and times. No event is ever published about an answer: who
answered what (or, for an anonymous survey, who answered at all) is nobody's business but the
survey's. A suggestion's events carry the writer's member id only when they wrote under their
name; an anonymous suggestion's events carry no one.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.events import IntegrationEvent
from shared.events.events import EligibilityFacts


class SurveyFacts(IntegrationEvent):
    """What every `events.survey` event carries (no type of its own)."""

    topic = "events.survey"
    subject_field = "survey_id"

    survey_id: str = Field(description="survey id (aggregate id)")
    title: str = Field(description="title (问卷名称)")
    campus: str = Field(description="campus code, or `*` for the whole school")
    anonymous: bool = Field(description="answers are anonymous (匿名问卷)")
    opens_at: datetime = Field(description="answering opens (UTC)")
    closes_at: datetime = Field(description="answering closes (UTC)")
    audience: EligibilityFacts = Field(description="who is asked (the activity rules)")
    questions: int = Field(description="how many questions")
    plan_id: str | None = Field(None, description="the annual plan it belongs to")
    item_id: str | None = Field(None, description="the plan item it belongs to")


class SurveyDrafted(SurveyFacts):
    """A cadre drafted a survey (问卷草稿): not shown to members yet."""

    type = "events.survey.drafted.v1"
    summary = "问卷草稿"


class SurveyPublished(SurveyFacts):
    """A survey was published (问卷发布); members may answer from `opens_at`."""

    type = "events.survey.published.v1"
    summary = "问卷发布"


class SurveyOpened(SurveyFacts):
    """A survey opened for answers (问卷开始): its audience may be told."""

    type = "events.survey.opened.v1"
    summary = "问卷开始填写"


class SurveyClosingSoon(SurveyFacts):
    """A survey closes within a day (问卷即将截止): a reminder, sent once by a scheduled job."""

    type = "events.survey.closing_soon.v1"
    summary = "问卷即将截止"


class SurveyClosed(SurveyFacts):
    """A survey closed (问卷结束): at its close time, or early by a cadre."""

    type = "events.survey.closed.v1"
    summary = "问卷结束"

    answers: int = Field(description="how many members answered")


class SuggestionFacts(IntegrationEvent):
    """What every `events.suggestion` event carries (no type of its own)."""

    topic = "events.suggestion"
    subject_field = "suggestion_id"

    suggestion_id: str = Field(description="suggestion id (aggregate id)")
    campus: str = Field(description="campus code")
    title: str = Field(description="title (标题)")
    anonymous: bool = Field(description="written anonymously: no member id anywhere")
    member_id: str | None = Field(
        None, description="the writer, only when they wrote under their name"
    )
    status: str = Field(description="submitted / forwarded / replied")


class SuggestionSubmitted(SuggestionFacts):
    """A member put a suggestion in the box (意见建议)."""

    type = "events.suggestion.submitted.v1"
    summary = "收到意见建议"


class SuggestionForwarded(SuggestionFacts):
    """A cadre forwarded a suggestion to a department (转交部门)."""

    type = "events.suggestion.forwarded.v1"
    summary = "意见建议已转交"

    department: str = Field(description="the department it went to")


class SuggestionReplied(SuggestionFacts):
    """A suggestion was answered (答复): the writer (named) may be told."""

    type = "events.suggestion.replied.v1"
    summary = "意见建议已答复"

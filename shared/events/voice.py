"""Events of members' voice in the events service (活动): surveys (`events.survey`) and the
suggestion box (`events.suggestion`); commendations (评选表彰: `events.campaign`,
`events.nomination`, `events.objection`) and the staff congress (教代会: `events.congress`,
`events.proposal`, `events.resolution`).

A survey's events carry what notify needs to reach its audience without asking anyone: the
scope, the audience rule, title and times. No event is ever published about an answer: who
answered what (or, for an anonymous survey, who answered at all) is nobody's business but the
survey's. A suggestion's events carry the writer's member id only when they wrote under their
name; an anonymous suggestion's events carry no one.

Commendations and the congress carry member ids only, never a name; and never who voted for
whom: a vote publishes nothing, a campaign's tally is published with its result (counts per
candidate), a resolution's as counts of for / against / abstain.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shared.events import IntegrationEvent
from shared.events.events import EligibilityFacts

# -- surveys and the suggestion box -----------------------------------------------------------


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


# -- commendations (评选表彰) -------------------------------------------------------------------


class CampaignPhaseChanged(IntegrationEvent):
    """A campaign was set up or moved to its next phase (征集推荐 → 审核 → 投票 → 公示 → 公布)."""

    type = "events.campaign.phase_changed.v1"
    topic = "events.campaign"
    summary = "评选表彰阶段变化"
    subject_field = "campaign_id"

    campaign_id: str = Field(description="campaign id (aggregate id)")
    title: str = Field(description="title (评选名称)")
    campus: str = Field(description="campus code, or `*` for the whole school")
    phase: str = Field(description="nominating, reviewing, voting, publicity, published")
    previous: str | None = Field(None, description="the phase before (null when set up)")
    voting_closes_at: datetime | None = Field(None, description="end of voting (UTC)")
    publicity_until: date | None = Field(None, description="last day of the publicity (公示)")


class Elected(BaseModel):
    category_id: str = Field(description="category within the campaign (c1, c2 …)")
    nomination_id: str = Field(description="the nomination")
    member_id: str = Field(description="the commended member")
    campus: str = Field(description="the campus whose quota they fill")
    votes: int = Field(description="votes received")


class CampaignResultPublished(IntegrationEvent):
    """The campaign's result was published to members (结果公布)."""

    type = "events.campaign.result_published.v1"
    topic = "events.campaign"
    summary = "评选结果公布"
    subject_field = "campaign_id"

    campaign_id: str = Field(description="campaign id")
    title: str = Field(description="title")
    campus: str = Field(description="campus code, or `*`")
    elected: list[Elected] = Field(description="who is commended, per category")


class NominationFacts(IntegrationEvent):
    """What every `events.nomination` event carries."""

    topic = "events.nomination"
    subject_field = "nomination_id"

    nomination_id: str = Field(description="nomination id (aggregate id)")
    campaign_id: str = Field(description="the campaign")
    category_id: str = Field(description="the category (c1, c2 …)")
    member_id: str = Field(description="the nominee")
    campus: str = Field(description="the nominee's campus")
    status: str = Field(description="nominated, shortlisted, rejected, withdrawn")


class MemberNominated(NominationFacts):
    """A member was nominated (推荐), by themself, another member, a department or a cadre."""

    type = "events.nomination.nominated.v1"
    summary = "推荐人选"

    by_kind: str = Field(description="self, member, department, cadre")
    nominator_id: str | None = Field(None, description="the nominating member (member kinds)")


class NominationReviewed(NominationFacts):
    """A cadre shortlisted (入围) or rejected a nomination (with a reason)."""

    type = "events.nomination.reviewed.v1"
    summary = "推荐审核"

    reason: str | None = Field(None, description="why it was rejected")


class ObjectionFacts(IntegrationEvent):
    topic = "events.objection"
    subject_field = "objection_id"

    objection_id: str = Field(description="objection id (aggregate id)")
    campaign_id: str = Field(description="the campaign")
    nomination_id: str = Field(description="the candidate objected to")
    campus: str = Field(description="the campaign's campus")
    status: str = Field(description="open, upheld, dismissed")


class ObjectionRaised(ObjectionFacts):
    """A member raised an objection (异议) during the publicity."""

    type = "events.objection.raised.v1"
    summary = "公示异议"

    member_id: str = Field(description="who raised it")


class ObjectionResolved(ObjectionFacts):
    """A cadre resolved an objection: upheld (the candidate leaves the result) or dismissed."""

    type = "events.objection.resolved.v1"
    summary = "异议处理"

    member_id: str = Field(description="who raised it (to tell them)")


# -- the staff congress (教代会) ----------------------------------------------------------------


class CongressSessionOpened(IntegrationEvent):
    """A congress session was set up (or its settings changed)."""

    type = "events.congress.session_changed.v1"
    topic = "events.congress"
    summary = "教代会会议"
    subject_field = "session_id"

    session_id: str = Field(description="session id (aggregate id)")
    title: str = Field(description="title (第五届第三次教代会)")
    campus: str = Field(description="campus code, or `*`")
    cosign_min: int = Field(description="co-signers a proposal needs (附议人数)")
    proposals_until: datetime = Field(description="deadline for proposals (UTC)")


class ProposalMoved(IntegrationEvent):
    """A proposal (提案) moved in its lifecycle (drafted, submitted, endorsed, accepted,
    assigned, replied, rated …)."""

    type = "events.proposal.moved.v1"
    topic = "events.proposal"
    summary = "提案进度"
    subject_field = "proposal_id"

    proposal_id: str = Field(description="proposal id (aggregate id)")
    session_id: str = Field(description="the congress session")
    campus: str = Field(description="the session's campus, or `*`")
    number: int | None = Field(None, description="register number (提案编号), once submitted")
    proposer_id: str = Field(description="the proposing representative (member id)")
    status: str = Field(description="the status now")
    previous: str | None = Field(None, description="the status before (null when drafted)")
    department: str | None = Field(None, description="the handling department (承办部门)")
    due_on: date | None = Field(None, description="reply due (答复期限)")


class ResolutionFacts(IntegrationEvent):
    topic = "events.resolution"
    subject_field = "resolution_id"

    resolution_id: str = Field(description="resolution id (aggregate id)")
    session_id: str = Field(description="the congress session")
    campus: str = Field(description="the session's campus, or `*`")
    title: str = Field(description="what is voted on (决议事项)")
    status: str = Field(description="voting, passed, failed, no_quorum")


class ResolutionOpened(ResolutionFacts):
    """A resolution was put to the representatives' vote (表决)."""

    type = "events.resolution.opened.v1"
    summary = "决议表决开始"


class ResolutionDecided(ResolutionFacts):
    """A resolution's vote was closed and its result recorded and published."""

    type = "events.resolution.decided.v1"
    summary = "决议表决结果"

    representatives: int = Field(description="representatives of the session (应到)")
    votes_for: int = Field(description="赞成")
    votes_against: int = Field(description="反对")
    abstentions: int = Field(description="弃权")

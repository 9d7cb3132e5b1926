"""Pure rules of the staff congress (教代会): sessions, proposals (提案) and resolutions (决议).

A proposal moves through one table (`TRANSITIONS`, like members' `Member._move`): 草稿 draft →
已提交 submitted → 代表团团长已审核 endorsed → 立案 accepted / 转为意见 opinion / 并案 merged /
不予立案 rejected; accepted → 已交办 assigned → 已答复 replied → 已评价 rated, and once
rated the proposer may ask once for a second reply (reopened → replied → rated). Every move is
one change of the aggregate, i.e. one unique-key insert; a refusal names the current status.

Representatives come from members' congress terms (`term_covers`: a term covers the
session's year) or are registered by hand for corrections. Co-signers (附议) are not part of
the aggregate: each is a claim (see `store.py`).
Resolutions are voted for / against / abstain; `decide` is the quorum rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.voice import (
    CongressSessionOpened,
    ProposalMoved,
    ResolutionDecided,
    ResolutionOpened,
)
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, normalize
from shared.vocabulary.voice import ProposalCategory, Rating

Text = Annotated[str, StringConstraints(max_length=4000, pattern=VISIBLE_TEXT)]
Short = Annotated[str, StringConstraints(max_length=100, pattern=VISIBLE_TEXT)]
MemberIdText = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
]
CampusCode = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^(\*|[a-z][a-z0-9-]{0,31})$")
]
SECOND_REPLY_DAYS = 15


class ProposalStatus(Labelled):
    draft = "draft", "草稿（征集附议）"
    submitted = "submitted", "已提交"
    endorsed = "endorsed", "代表团已审核"
    accepted = "accepted", "已立案"
    opinion = "opinion", "转为意见建议"
    merged = "merged", "已并案"
    rejected = "rejected", "不予立案"
    assigned = "assigned", "已交办"
    replied = "replied", "已答复"
    rated = "rated", "已评价"
    reopened = "reopened", "再次答复中"


S = ProposalStatus
TRANSITIONS: dict[ProposalStatus, frozenset[ProposalStatus]] = {
    S.draft: frozenset({S.submitted}),
    S.submitted: frozenset({S.endorsed}),
    S.endorsed: frozenset({S.accepted, S.opinion, S.merged, S.rejected}),
    S.accepted: frozenset({S.assigned}),
    S.assigned: frozenset({S.replied}),
    S.replied: frozenset({S.rated}),
    S.rated: frozenset({S.reopened}),
    S.reopened: frozenset({S.replied}),
    S.opinion: frozenset(),
    S.merged: frozenset(),
    S.rejected: frozenset(),
}
DECISIONS = frozenset({S.accepted, S.opinion, S.merged, S.rejected})
WAITING_FOR_REPLY = frozenset({S.assigned, S.reopened})


class ResolutionStatus(Labelled):
    voting = "voting", "表决中"
    passed = "passed", "通过"
    failed = "failed", "未通过"
    no_quorum = "no_quorum", "未达法定人数"


class Choice(Labelled):
    yes = "for", "赞成"
    no = "against", "反对"
    abstain = "abstain", "弃权"


# -- commands ---------------------------------------------------------------------------------


class NewSession(BaseModel):
    """Command: a congress session (一次教代会会议)."""

    title: Short = Field(description="会议名称，如 第五届教代会第三次会议")
    year: int = Field(ge=2000, le=2100)
    campus: CampusCode = Field(description="校区代码，全校为 *")
    cosign_min: int = Field(2, ge=0, le=50, description="提案至少需要的附议代表人数")
    proposals_until: datetime = Field(description="提案截止时间")


class NewRepresentatives(BaseModel):
    """Command: register representatives of the session by member id (from the directory)."""

    member_ids: list[MemberIdText] = Field(min_length=1, max_length=500)
    head: MemberIdText | None = Field(None, description="其中一位任其代表团（校区）团长")


class NewProposal(BaseModel):
    title: Short = Field(description="案由（提案标题）")
    reasons: Text = Field(description="理由")
    measures: Text = Field(description="建议措施")
    category: ProposalCategory = Field(ProposalCategory.other)
    department: Short = Field(description="涉及部门")


class Decision(BaseModel):
    """Command: the proposal committee's decision (提案委员会审查)."""

    decision: ProposalStatus = Field(description="accepted 立案 / opinion / merged / rejected")
    reason: Text | None = Field(None, description="理由（不予立案、并案、转意见时必填）")
    merge_into: str | None = Field(None, max_length=40, pattern=r"^pp-[0-9a-f]{10}$")


class Assignment(BaseModel):
    department: Short = Field(description="承办部门")
    due_on: date = Field(description="答复期限")


class ReplyBody(BaseModel):
    text: Text = Field(description="承办部门的答复")


class RatingBody(BaseModel):
    rating: Rating


class NewResolution(BaseModel):
    title: Short = Field(description="表决事项")
    text: Text = Field(description="决议内容")


class Ballot(BaseModel):
    choice: Choice


# -- the session ------------------------------------------------------------------------------


class CongressSession(Aggregate):
    title: str
    year: int
    cosign_min: int
    proposals_until: datetime
    heads: dict[str, str] = Field(default_factory=dict, description="代表团（校区）→ 团长")

    def open_for_proposals(self, now: datetime) -> bool:
        return now < self.proposals_until

    def set_head(self, delegation: str, member_id: str) -> None:
        self.heads[delegation] = member_id
        self.record(CongressSessionOpened.of(self))


def new_session(session_id: str, cmd: NewSession) -> CongressSession:
    session = CongressSession(
        id=session_id,
        campus=cmd.campus,
        title=normalize(cmd.title),
        year=cmd.year,
        cosign_min=cmd.cosign_min,
        proposals_until=cmd.proposals_until,
    )
    session.record(CongressSessionOpened.of(session))
    return session


def term_covers(start_year: int, years: int, year: int) -> bool:
    """Whether a representative term (members' `CongressTerm`: a start year and a length in
    years, so its last year is start_year + years - 1) covers a session held in `year`."""
    return start_year <= year < start_year + years


def in_office(terms: Iterable[Mapping[str, Any]], year: int) -> bool:
    """Whether any of a member's terms (as the member directory keeps them) covers `year`; a
    term missing its start or length covers nothing."""
    return any(
        isinstance(t.get("start_year"), int)
        and isinstance(t.get("years"), int)
        and term_covers(t["start_year"], t["years"], year)
        for t in terms
    )


# -- proposals --------------------------------------------------------------------------------


class Reply(BaseModel):
    text: str
    at: datetime
    second: bool = False


class Proposal(Aggregate):
    session_id: str
    number: int | None = None
    proposer_id: str
    proposer_name: str
    delegation: str
    title: str
    reasons: str
    measures: str
    category: ProposalCategory
    department: str
    status: ProposalStatus = ProposalStatus.draft
    reason: str | None = None
    merged_into: str | None = None
    handling_department: str | None = None
    due_on: date | None = None
    replies: list[Reply] = Field(default_factory=list)
    rating: Rating | None = None
    second_asked: bool = False
    second_rating: Rating | None = None

    def _move(self, to: ProposalStatus, action: str) -> None:
        if to not in TRANSITIONS[self.status]:
            raise Conflict(
                "proposal.invalid_transition",
                f"提案当前为「{self.status.label}」，不能{action}",
                current=self.status.value,
                to=to.value,
            )
        previous, self.status = self.status, to
        self.record(
            ProposalMoved.of(
                self,
                previous=previous.value,
                status=to.value,
                department=self.handling_department,
            )
        )

    def overdue(self, today: date) -> bool:
        return self.status in WAITING_FOR_REPLY and self.due_on is not None and today > self.due_on

    def submit(self, number: int) -> None:
        self.number = number
        self._move(S.submitted, "提交")

    def endorse(self) -> None:
        self._move(S.endorsed, "由代表团审核")

    def decide(self, cmd: Decision, merge_target: Proposal | None) -> None:
        if cmd.decision not in DECISIONS:
            raise Conflict("proposal.decision", "请选择：立案、转为意见建议、并案或不予立案")
        if cmd.decision is not S.accepted and not cmd.reason:
            raise Conflict("proposal.reason_required", "不予立案、并案或转为意见时请填写理由")
        if cmd.decision is S.merged:
            if merge_target is None or merge_target.id == self.id:
                raise Conflict("proposal.merge_target", "请选择同一次会议的另一件提案并案")
            self.merged_into = merge_target.id
        self.reason = normalize(cmd.reason) if cmd.reason else None
        self._move(cmd.decision, "审查")

    def assign(self, cmd: Assignment, today: date) -> None:
        if cmd.due_on < today:
            raise Conflict("proposal.due_on", "答复期限不能早于今天")
        self.handling_department = normalize(cmd.department)
        self.due_on = cmd.due_on
        self._move(S.assigned, "交办")

    def reply(self, text: str, now: datetime) -> None:
        second = self.status is S.reopened
        self._move(S.replied, "答复")
        self.replies.append(Reply(text=normalize(text), at=now, second=second))

    def rate(self, rating: Rating) -> None:
        self._move(S.rated, "评价")
        if self.second_asked:
            self.second_rating = rating
        else:
            self.rating = rating

    def ask_again(self, today: date) -> None:
        if self.second_asked:
            raise Conflict(
                "proposal.second_reply_used", "每件提案只能要求再次答复一次", current=self.status
            )
        self._move(S.reopened, "要求再次答复")
        self.second_asked = True
        self.due_on = date.fromordinal(today.toordinal() + SECOND_REPLY_DAYS)


def draft(
    proposal_id: str, session: CongressSession, cmd: NewProposal, proposer: dict[str, str]
) -> Proposal:
    proposal = Proposal(
        id=proposal_id,
        campus=session.campus,
        session_id=session.id,
        proposer_id=proposer["member_id"],
        proposer_name=proposer["name"],
        delegation=proposer["delegation"],
        title=normalize(cmd.title),
        reasons=normalize(cmd.reasons),
        measures=normalize(cmd.measures),
        category=cmd.category,
        department=normalize(cmd.department),
    )
    proposal.record(ProposalMoved.of(proposal, previous=None, status=S.draft.value))
    return proposal


# -- resolutions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    representatives: int
    votes_for: int
    votes_against: int
    abstentions: int

    @property
    def present(self) -> int:
        return self.votes_for + self.votes_against + self.abstentions


def decide(count: Count) -> ResolutionStatus:
    """The quorum rule (《学校教职工代表大会规定》): at least two thirds of the representatives
    take part, and a resolution passes with the votes of more than half of *all*
    representatives (not only of those voting)."""
    if count.representatives == 0 or count.present * 3 < count.representatives * 2:
        return ResolutionStatus.no_quorum
    if count.votes_for * 2 > count.representatives:
        return ResolutionStatus.passed
    return ResolutionStatus.failed


class Resolution(Aggregate):
    session_id: str
    title: str
    text: str
    status: ResolutionStatus = ResolutionStatus.voting
    representatives: int | None = None
    votes_for: int | None = None
    votes_against: int | None = None
    abstentions: int | None = None
    decided_at: datetime | None = None

    def close(self, count: Count, now: datetime) -> None:
        if self.status is not ResolutionStatus.voting:
            raise Conflict(
                "resolution.closed", f"表决已结束（{self.status.label}）", current=self.status
            )
        self.representatives = count.representatives
        self.votes_for, self.votes_against = count.votes_for, count.votes_against
        self.abstentions = count.abstentions
        self.status, self.decided_at = decide(count), now
        self.record(ResolutionDecided.of(self, status=self.status.value))


def open_resolution(resolution_id: str, session: CongressSession, cmd: NewResolution) -> Resolution:
    resolution = Resolution(
        id=resolution_id,
        campus=session.campus,
        session_id=session.id,
        title=normalize(cmd.title),
        text=normalize(cmd.text),
    )
    resolution.record(ResolutionOpened.of(resolution, status=resolution.status.value))
    return resolution

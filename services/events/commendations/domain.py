"""Pure rules of commendations (评选表彰 / 劳模推评): a campaign with its categories, its
phases, who may be nominated, and who is elected from the tally.

A campaign moves through one table of phases (`PHASES`): 征集推荐 nominating → 审核 reviewing
→ 投票 voting → 公示 publicity → 已公布 published. A category (师德标兵, 市劳模推荐 …) has quotas
per campus, K votes per voter and its own eligibility (the activities' rule, reused). Votes are
not part of any aggregate (see `store.py`): here only the pure reading of a tally.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from services.events.activities.eligibility import Eligibility, Person, Refusal, refusal
from shared.aggregate import Aggregate
from shared.errors import Conflict, NotFound
from shared.events.voice import (
    CampaignPhaseChanged,
    CampaignResultPublished,
    Elected,
    MemberNominated,
    NominationReviewed,
    ObjectionRaised,
    ObjectionResolved,
)
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, normalize
from shared.timeutil import local_today
from shared.vocabulary.voice import CategoryKind

CATEGORY_ID = r"^c[0-9]{1,2}$"
Text = Annotated[str, StringConstraints(max_length=2000, pattern=VISIBLE_TEXT)]
Short = Annotated[str, StringConstraints(max_length=100, pattern=VISIBLE_TEXT)]
CampusCode = Annotated[
    str, StringConstraints(max_length=32, pattern=r"^(\*|[a-z][a-z0-9-]{0,31})$")
]


class CampaignPhase(Labelled):
    nominating = "nominating", "征集推荐"
    reviewing = "reviewing", "审核"
    voting = "voting", "投票"
    publicity = "publicity", "公示"
    published = "published", "已公布"


# The one table of a campaign's moves; the error names the phase it is in.
PHASES: dict[CampaignPhase, frozenset[CampaignPhase]] = {
    CampaignPhase.nominating: frozenset({CampaignPhase.reviewing}),
    CampaignPhase.reviewing: frozenset({CampaignPhase.nominating, CampaignPhase.voting}),
    CampaignPhase.voting: frozenset({CampaignPhase.publicity}),
    CampaignPhase.publicity: frozenset({CampaignPhase.published}),
    CampaignPhase.published: frozenset(),
}


class NominationStatus(Labelled):
    nominated = "nominated", "待审核"
    shortlisted = "shortlisted", "入围"
    rejected = "rejected", "未通过"


class NominatedBy(Labelled):
    self = "self", "本人自荐"
    member = "member", "会员推荐"
    department = "department", "部门推荐"
    cadre = "cadre", "工会推荐"


class ObjectionStatus(Labelled):
    open = "open", "待处理"
    upheld = "upheld", "异议成立"
    dismissed = "dismissed", "异议不成立"


# -- commands ---------------------------------------------------------------------------------


class Quota(BaseModel):
    campus: CampusCode = Field(description="校区代码；* 为全校统一名额")
    count: int = Field(ge=1, le=500, description="名额")


class NewCategory(BaseModel):
    """Command: one category of a campaign (评选类别)."""

    name: Short = Field(description="类别名称，如 师德标兵")
    kind: CategoryKind = Field(CategoryKind.other, description="类别")
    quotas: list[Quota] = Field(
        min_length=1, max_length=20, description="各校区名额（同一校区写两次时以后者为准）"
    )
    votes_per_voter: int = Field(3, ge=1, le=50, description="每位投票人最多投几票（每人一票）")
    eligibility: Eligibility = Field(default_factory=Eligibility, description="被推荐人条件")


class NewCampaign(BaseModel):
    """Command: set up a campaign (评选活动) in its nominating phase."""

    title: Short = Field(description="评选名称，如 2026 年度师德标兵评选")
    year: int = Field(ge=2000, le=2100, description="年度")
    campus: CampusCode = Field(description="校区代码，全校为 *")
    categories: list[NewCategory] = Field(min_length=1, max_length=20)


class PhaseMove(BaseModel):
    """Command: move the campaign to its next phase, with that phase's dates."""

    to: CampaignPhase
    voting_closes_at: datetime | None = Field(None, description="投票截止（进入投票阶段时必填）")
    publicity_from: date | None = Field(None, description="公示开始日（进入公示阶段时必填）")
    publicity_until: date | None = Field(None, description="公示结束日（含）")


class Attachment(BaseModel):
    """What is known of an attached file (事迹材料): its name, type and size, not its bytes."""

    name: Short = Field(description="文件名")
    content_type: str = Field(max_length=100, pattern=r"^[a-z]+/[a-zA-Z0-9.+-]+$")
    size_bytes: int = Field(ge=1, le=50_000_000)


class NewNomination(BaseModel):
    """Command: nominate a member in a category (推荐)."""

    category_id: str = Field(pattern=CATEGORY_ID, description="类别编号，如 c1")
    # Whom: the member id, else the 工号 (what a member knows of a colleague, as typed on a
    # phone: full width, lower case), else the caller themself.
    member_id: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="被推荐人的会员编号；不填则按工号，都不填为自荐",
    )
    staff_no: str | None = Field(
        None, min_length=1, max_length=32, description="被推荐人的工号（未填会员编号时）"
    )
    reasons: Text = Field(description="推荐理由 / 主要事迹")
    department: Short | None = Field(None, description="以部门名义推荐时的部门（工会干部）")
    attachments: list[Attachment] = Field(default_factory=list, max_length=10)


class Review(BaseModel):
    """Command: a cadre's review of a nomination: shortlist, or reject with a reason."""

    decision: NominationStatus = Field(description="shortlisted 入围 / rejected 未通过")
    reason: Text | None = Field(None, description="不通过的理由（必填）")


class NewObjection(BaseModel):
    nomination_id: str = Field(max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    reason: Text = Field(description="异议理由")


class Resolve(BaseModel):
    upheld: bool = Field(description="true 异议成立（该人选退出名单）/ false 不成立")
    answer: Text = Field(description="处理意见")


# -- the campaign -----------------------------------------------------------------------------


class Category(BaseModel):
    id: str
    name: str
    kind: CategoryKind
    quotas: dict[str, int]
    votes_per_voter: int
    eligibility: Eligibility


class Winner(BaseModel):
    category_id: str
    nomination_id: str
    member_id: str
    campus: str
    votes: int


@dataclass(frozen=True)
class _Offer:
    """A category as the activities' eligibility check reads it (`refusal`)."""

    eligibility: Eligibility
    campus: str
    starts_on: date

    @property
    def school_wide(self) -> bool:
        return self.campus == "*"


class Campaign(Aggregate):
    title: str
    year: int
    phase: CampaignPhase = CampaignPhase.nominating
    categories: list[Category]
    voting_closes_at: datetime | None = None
    publicity_from: date | None = None
    publicity_until: date | None = None
    listed: list[Winner] = Field(default_factory=list, description="公示名单")
    elected: list[Winner] = Field(default_factory=list, description="公布的结果")

    def category(self, category_id: str) -> Category:
        for c in self.categories:
            if c.id == category_id:
                return c
        raise NotFound("campaign.category_not_found", "未找到该评选类别", category=category_id)

    def refusal(self, category: Category, person: Person, today: date) -> Refusal | None:
        return refusal(_Offer(category.eligibility, self.campus, today), person)

    def voting_open(self, now: datetime) -> bool:
        closes = self.voting_closes_at
        return self.phase is CampaignPhase.voting and closes is not None and now < closes

    def require_phase(self, *phases: CampaignPhase, action: str) -> None:
        if self.phase not in phases:
            raise Conflict(
                "campaign.wrong_phase",
                f"评选当前处于「{self.phase.label}」阶段，不能{action}",
                current=self.phase.value,
            )

    def require_objections_open(self, today: date) -> None:
        """A member may object during the publicity, from its first day to its last (both
        included, Beijing dates): before it the list is not public yet, after it the result
        may be published."""
        self.require_phase(CampaignPhase.publicity, action="提出异议")
        start, until = self.publicity_from, self.publicity_until
        if start is not None and today < start:
            raise Conflict(
                "objection.too_early",
                f"公示期自 {start} 开始，公示开始后才能提出异议",
                publicity_from=str(start),
            )
        if until is not None and today > until:
            raise Conflict(
                "objection.too_late", f"公示期已于 {until} 结束", publicity_until=str(until)
            )

    @property
    def votes_counted(self) -> bool:
        """The vote is over and counted once and for all (公示 and after): its tally is the
        close's (`store.BallotBox.close`), public to every member of the scope."""
        return self.phase in (CampaignPhase.publicity, CampaignPhase.published)

    def closes_vote(self, cmd: PhaseMove) -> bool:
        """Whether the move ends the vote (投票 → 公示, early or after `voting_closes_at`)."""
        return self.phase is CampaignPhase.voting and cmd.to is CampaignPhase.publicity

    def check_move(self, cmd: PhaseMove, now: datetime) -> None:
        """Refuse what `move` would refuse, moving nothing: the close of the vote is written
        before the move (it cannot be taken back), so a move that would fail never closes it."""
        if cmd.to not in PHASES[self.phase]:
            raise Conflict(
                "campaign.invalid_transition",
                f"评选当前处于「{self.phase.label}」阶段，不能转到「{cmd.to.label}」",
                current=self.phase.value,
                to=cmd.to.value,
            )
        if cmd.to is CampaignPhase.voting:
            if cmd.voting_closes_at is None or cmd.voting_closes_at <= now:
                raise Conflict("campaign.closes_at", "请填写晚于现在的投票截止时间")
        elif cmd.to is CampaignPhase.publicity:
            start, until = cmd.publicity_from, cmd.publicity_until
            if start is None or until is None or until < start:
                raise Conflict("campaign.publicity_dates", "请填写公示起止日期（结束不早于开始）")
        elif cmd.to is CampaignPhase.published:
            # Members may object all through the publicity's last day (`require_objections_open`):
            # the result waits until that day is over, by the school's (Beijing) calendar.
            until = self.publicity_until
            if until is not None and local_today(now) <= until:
                raise Conflict(
                    "campaign.publicity_running",
                    f"公示期至 {until}（含）结束，{until + timedelta(days=1)} 起才能公布结果",
                    until=str(until),
                )

    def move(self, cmd: PhaseMove, now: datetime, listed: list[Winner] | None = None) -> None:
        """Move to `cmd.to` if the table allows it (`check_move`), with that phase's dates."""
        self.check_move(cmd, now)
        previous = self.phase
        if cmd.to is CampaignPhase.voting:
            self.voting_closes_at = cmd.voting_closes_at
        elif cmd.to is CampaignPhase.publicity:
            if self.voting_closes_at is None or self.voting_closes_at > now:
                self.voting_closes_at = now  # the cadre closes the vote early
            self.publicity_from, self.publicity_until = cmd.publicity_from, cmd.publicity_until
            self.listed = list(listed or [])
        elif cmd.to is CampaignPhase.published:
            self.elected = list(listed or [])
        self.phase = cmd.to
        self.record(CampaignPhaseChanged.of(self, previous=previous.value))
        if cmd.to is CampaignPhase.published:
            self.record(
                CampaignResultPublished.of(
                    self, elected=[Elected(**w.model_dump()) for w in self.elected]
                )
            )


def new_campaign(campaign_id: str, cmd: NewCampaign) -> Campaign:
    categories = [
        Category(
            id=f"c{i}",
            name=normalize(c.name),
            kind=c.kind,
            quotas={q.campus: q.count for q in c.quotas},
            votes_per_voter=c.votes_per_voter,
            eligibility=c.eligibility.cleaned(),
        )
        for i, c in enumerate(cmd.categories, start=1)
    ]
    if len({c.name for c in categories}) != len(categories):
        raise Conflict("campaign.duplicate_category", "评选类别名称不能重复")
    campaign = Campaign(
        id=campaign_id,
        campus=cmd.campus,
        title=normalize(cmd.title),
        year=cmd.year,
        categories=categories,
    )
    campaign.record(CampaignPhaseChanged.of(campaign, previous=None))
    return campaign


# -- nominations ------------------------------------------------------------------------------


class Nomination(Aggregate):
    """One member nominated in one category of a campaign (id: campaign, category, member)."""

    campaign_id: str
    category_id: str
    member_id: str
    name: str
    department: str
    by_kind: NominatedBy
    nominator_id: str | None = None
    nominating_department: str | None = None
    reasons: str
    attachments: list[Attachment] = Field(default_factory=list)
    status: NominationStatus = NominationStatus.nominated
    reason: str | None = None

    def review(self, cmd: Review) -> None:
        if self.status is not NominationStatus.nominated:
            raise Conflict(
                "nomination.reviewed",
                f"该推荐已审核（{self.status.label}）",
                current=self.status.value,
            )
        if cmd.decision is NominationStatus.nominated:
            raise Conflict("nomination.decision", "请选择「入围」或「未通过」")
        if cmd.decision is NominationStatus.rejected and not cmd.reason:
            raise Conflict("nomination.reason_required", "不通过时请填写理由")
        self.status = cmd.decision
        self.reason = normalize(cmd.reason) if cmd.reason else None
        self.record(NominationReviewed.of(self))


def nomination_id(campaign_id: str, category_id: str, member_id: str) -> str:
    return f"{campaign_id}-{category_id}-{member_id}"


def nominate(
    campaign: Campaign,
    cmd: NewNomination,
    nominee: Person,
    by_kind: NominatedBy,
    nominator_id: str | None,
) -> Nomination:
    nomination = Nomination(
        id=nomination_id(campaign.id, cmd.category_id, nominee.id),
        campus=nominee.campus,
        campaign_id=campaign.id,
        category_id=cmd.category_id,
        member_id=nominee.id,
        name=nominee.name,
        department=nominee.department,
        by_kind=by_kind,
        nominator_id=nominator_id,
        nominating_department=normalize(cmd.department) if cmd.department else None,
        reasons=normalize(cmd.reasons),
        attachments=cmd.attachments,
    )
    nomination.record(
        MemberNominated.of(nomination, by_kind=by_kind.value, nominator_id=nominator_id)
    )
    return nomination


# -- objections -------------------------------------------------------------------------------


class Objection(Aggregate):
    campaign_id: str
    nomination_id: str
    member_id: str = Field(description="who raised it")
    reason: str
    status: ObjectionStatus = ObjectionStatus.open
    answer: str | None = None

    def resolve(self, cmd: Resolve) -> None:
        if self.status is not ObjectionStatus.open:
            raise Conflict(
                "objection.resolved", f"该异议已处理（{self.status.label}）", current=self.status
            )
        self.status = ObjectionStatus.upheld if cmd.upheld else ObjectionStatus.dismissed
        self.answer = normalize(cmd.answer)
        self.record(ObjectionResolved.of(self))


def raise_objection(
    objection_id: str, campaign: Campaign, cmd: NewObjection, member_id: str
) -> Objection:
    objection = Objection(
        id=objection_id,
        campus=campaign.campus,
        campaign_id=campaign.id,
        nomination_id=cmd.nomination_id,
        member_id=member_id,
        reason=normalize(cmd.reason),
    )
    objection.record(ObjectionRaised.of(objection))
    return objection


# -- the tally --------------------------------------------------------------------------------


def ballot_refusal(answers: Mapping[str, str], limit: int) -> Conflict | None:
    """The 409 for a ballot none of whose votes went in, or None when one did. Per candidate
    (`store.BallotBox.cast`): "cast" counted, "closed" withdrawn because the vote closed while
    it was on its way, "full" the voter's `limit` spent, "again" a vote of theirs already in.
    A withdrawn vote says so first: the voter did nothing wrong, they were late."""
    outcomes = set(answers.values())
    if "cast" in outcomes:
        return None
    if "closed" in outcomes:
        return Conflict("vote.closed", "投票已截止，本次投票未计入")
    if outcomes == {"full"}:
        return Conflict("vote.limit", f"您在本类别的 {limit} 票已经投完", limit=limit)
    if outcomes == {"again"}:
        return Conflict("vote.again", "您已给该候选人投过票")
    return None


def elect(
    campaign: Campaign,
    candidates: Sequence[Nomination],
    tally: Mapping[str, int],
    excluded: frozenset[str] = frozenset(),
) -> list[Winner]:
    """Who fills each category's quota per campus: shortlisted candidates, most votes first
    (ties by nomination order); `excluded` (upheld objections) leave the list and the next
    one moves up. A school-wide quota (`*`) is filled from every campus."""
    out: list[Winner] = []
    for category in campaign.categories:
        pool = [
            n
            for n in candidates
            if n.category_id == category.id
            and n.status is NominationStatus.shortlisted
            and n.id not in excluded
        ]
        for campus, quota in category.quotas.items():
            mine = [n for n in pool if campus == "*" or n.campus == campus]
            ranked = sorted(mine, key=lambda n: -tally.get(n.id, 0))
            out.extend(
                Winner(
                    category_id=category.id,
                    nomination_id=n.id,
                    member_id=n.member_id,
                    campus=n.campus if campus == "*" else campus,
                    votes=tally.get(n.id, 0),
                )
                for n in ranked[:quota]
            )
    return out

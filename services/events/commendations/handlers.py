"""Commendation use cases: set up a campaign, nominate, review, vote, publicity, objections,
the result.

Who may: a cadre of the campaign's campus runs it (school-wide: a cadre of `*`); any member
of its scope nominates (themself or a colleague), votes and objects; a cadre may nominate in
the name of the union or of a department.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

from services.events.activities.eligibility import Person
from services.events.commendations.domain import (
    Campaign,
    CampaignPhase,
    NewCampaign,
    NewNomination,
    NewObjection,
    NominatedBy,
    Nomination,
    NominationStatus,
    Objection,
    ObjectionStatus,
    PhaseMove,
    Resolve,
    Review,
    Winner,
    ballot_refusal,
    elect,
    new_campaign,
    nominate,
    raise_objection,
)
from services.events.commendations.store import CampaignBook, Cast
from shared.aggregate import Actor, AlreadyExists
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.readmodels.member_directory import MemberDirectory
from shared.text import fold_width
from shared.timeutil import SHANGHAI, local_today, utcnow

MEMBERS = frozenset({"active", "retired"})


def runs(user: Principal, campaign: Campaign) -> None:
    user.require(Role.cadre, campus=campaign.campus)


def in_scope(user: Principal, campaign: Campaign) -> bool:
    return campaign.campus == "*" or user.can_access(campaign.campus)


async def visible(book: CampaignBook, campaign_id: str, user: Principal) -> Campaign:
    """The campaign, or 404 when it is another campus's (no probing)."""
    campaign = await book.campaigns.get(campaign_id)
    if campaign is None or not in_scope(user, campaign):
        raise NotFound("campaign.not_found", "未找到该评选", id=campaign_id)
    return campaign


async def set_up(cmd: NewCampaign, book: CampaignBook, user: Principal) -> Campaign:
    user.require(Role.cadre, campus=cmd.campus)
    campaign = new_campaign(f"cm-{uuid.uuid4().hex[:10]}", cmd)
    return await book.campaigns.add(campaign, Actor.of(user), "set_up")


async def move(campaign: Campaign, cmd: PhaseMove, book: CampaignBook, user: Principal) -> Campaign:
    """Move the campaign on. Into 公示 the vote is closed first (`BallotBox.close`: a claim no
    vote in flight can pass unseen), and the 公示 list is elected from the close's tally."""
    runs(user, campaign)
    now = utcnow()
    listed: list[Winner] | None = None
    if campaign.closes_vote(cmd):
        campaign.check_move(cmd, now)  # a move that will be refused does not close the vote
        listed = await standing(campaign, book, await book.box.close(campaign.id))
    elif cmd.to is CampaignPhase.published:
        if await book.objections_of(campaign.id, status=ObjectionStatus.open.value):
            raise Conflict("campaign.objections_open", "还有未处理的异议，处理后才能公布结果")
        listed = await standing(campaign, book)
    return await book.campaigns.change(
        campaign.id, lambda c: c.move(cmd, now, listed), Actor.of(user), f"to_{cmd.to.value}"
    )


async def candidates(book: CampaignBook, campaign: Campaign) -> list[Nomination]:
    """The campaign's nominations as they are now (ids from the view, states current)."""
    ids = [n.id for n in await book.nominations_of(campaign.id)]
    found = await book.nominations.get_many(ids)
    return [found[i] for i in ids if i in found]


async def votes_of(campaign: Campaign, book: CampaignBook) -> Counter[str]:
    """Votes per candidate: the live ballots while voting, the close's count from 公示 on."""
    return await book.box.tally(campaign.id, closed=campaign.votes_counted)


async def standing(
    campaign: Campaign, book: CampaignBook, counted: Counter[str] | None = None
) -> list[Winner]:
    """Who would be elected now: the tally (`counted`, else read), without candidates whose
    objection was upheld."""
    upheld = await book.objections_of(campaign.id, status=ObjectionStatus.upheld.value)
    excluded = frozenset(o.nomination_id for o in upheld)
    votes = counted if counted is not None else await votes_of(campaign, book)
    return elect(campaign, await candidates(book, campaign), votes, excluded)


async def nominate_member(
    campaign: Campaign,
    cmd: NewNomination,
    book: CampaignBook,
    directory: MemberDirectory,
    user: Principal,
) -> Nomination:
    campaign.require_phase(CampaignPhase.nominating, action="推荐")
    category = campaign.category(cmd.category_id)
    doc = await _nominee_doc(campaign, cmd, directory, user)
    is_cadre = user.has_role(Role.cadre) and in_scope(user, campaign)
    if cmd.department is not None:
        user.require(Role.cadre, campus=campaign.campus)
        by_kind = NominatedBy.department
    elif doc is not None and doc["_id"] == user.subject:
        user.require(Role.member, Role.cadre)
        by_kind = NominatedBy.self
    elif is_cadre:
        by_kind = NominatedBy.cadre
    else:
        user.require(Role.member)
        by_kind = NominatedBy.member
    if doc is None or doc.get("status") not in MEMBERS:
        if cmd.member_id is None and cmd.staff_no is not None:
            shown = fold_width(cmd.staff_no).upper()
            raise Invalid("member.not_found", f"未找到工号为「{shown}」的会员", staff_no=shown)
        raise Invalid("member.not_found", "未找到该会员", id=cmd.member_id or user.subject)
    nominee = Person.of(doc)
    if campaign.campus != "*" and nominee.campus != campaign.campus:
        raise Conflict("nomination.other_campus", "被推荐人不在本次评选的校区范围内")
    if not any(c in ("*", nominee.campus) for c in category.quotas):
        raise Conflict("nomination.no_quota", "被推荐人所在校区在该类别没有名额")
    refused = campaign.refusal(category, nominee, local_today())
    if refused is not None:
        raise Conflict(
            "nomination.not_eligible",
            refused.message.replace("本活动", f"「{category.name}」"),
            rule=refused.rule,
        )
    nominator = None if by_kind is NominatedBy.department else user.subject
    nomination = nominate(campaign, cmd, nominee, by_kind, nominator)
    try:
        return await book.nominations.add(nomination, Actor.of(user), "nominate")
    except AlreadyExists as exc:
        raise Conflict(
            "nomination.exists", f"{nominee.name} 已被推荐为「{category.name}」", id=nomination.id
        ) from exc


async def _nominee_doc(
    campaign: Campaign, cmd: NewNomination, directory: MemberDirectory, user: Principal
) -> dict | None:
    """The nominee's directory entry: by member id, else by 工号, else the caller. By 工号,
    someone on a campus the campaign does not cover is answered as nobody: a member typing
    numbers must not learn who works on other campuses (as the check-in desk's walk-in)."""
    if cmd.member_id is not None or cmd.staff_no is None:
        return await directory.get(cmd.member_id or user.subject)
    doc = await directory.by_staff_no(fold_width(cmd.staff_no).upper())
    if doc is not None and campaign.campus not in ("*", doc.get("campus")):
        return None
    return doc


async def review(
    campaign: Campaign, nomination_id: str, cmd: Review, book: CampaignBook, user: Principal
) -> Nomination:
    runs(user, campaign)
    campaign.require_phase(CampaignPhase.nominating, CampaignPhase.reviewing, action="审核推荐")
    await nomination_of(book, campaign, nomination_id)
    return await book.nominations.change(
        nomination_id, lambda n: n.review(cmd), Actor.of(user), f"review_{cmd.decision.value}"
    )


async def nomination_of(book: CampaignBook, campaign: Campaign, nomination_id: str) -> Nomination:
    found = await book.nominations.get(nomination_id)
    if found is None or found.campaign_id != campaign.id:
        raise NotFound("nomination.not_found", "未找到该推荐", id=nomination_id)
    return found


async def voter(campaign: Campaign, directory: MemberDirectory, user: Principal) -> Person:
    user.require(Role.member)
    doc = await directory.get(user.subject)
    if doc is None or doc.get("status") not in MEMBERS:
        raise Forbidden("vote.not_a_member", "只有在会会员可以投票")
    person = Person.of(doc)
    if campaign.campus not in ("*", person.campus):
        raise Forbidden("vote.other_campus", "这是其他校区的评选")
    return person


async def vote(
    campaign: Campaign,
    category_id: str,
    nomination_ids: list[str],
    book: CampaignBook,
    directory: MemberDirectory,
    user: Principal,
    now: datetime | None = None,
) -> Cast:
    """Cast one vote per candidate named; each answered cast / again / full."""
    category = campaign.category(category_id)
    person = await voter(campaign, directory, user)
    if not campaign.voting_open(now or utcnow()):
        closes = campaign.voting_closes_at
        shown = closes.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if closes else ""
        raise Conflict(
            "vote.closed",
            f"投票已于 {shown} 截止"
            if campaign.phase is not CampaignPhase.nominating and closes
            else f"评选当前处于「{campaign.phase.label}」阶段，不能投票",
            current=campaign.phase.value,
        )
    if len(set(nomination_ids)) != len(nomination_ids):
        raise Conflict("vote.duplicate", "同一候选人只能投一票")
    if len(nomination_ids) > category.votes_per_voter:
        raise Conflict(
            "vote.too_many",
            f"本类别每人最多投 {category.votes_per_voter} 票",
            limit=category.votes_per_voter,
        )
    found = await book.nominations.get_many(nomination_ids)
    for nid in nomination_ids:
        n = found.get(nid)
        if n is None or n.campaign_id != campaign.id or n.category_id != category_id:
            raise Invalid("nomination.not_found", "未找到该候选人", id=nid)
        if n.status is not NominationStatus.shortlisted:
            raise Conflict("vote.not_a_candidate", f"{n.name} 不是入围候选人", id=nid)
    # The ballot goes in, then the close is checked for (`BallotBox.cast`): a close that
    # overtook this vote since the phase read above withdraws it ("closed").
    cast = await book.box.cast(
        campaign.id, category_id, person.id, nomination_ids, category.votes_per_voter
    )
    refused = ballot_refusal(cast.answers, category.votes_per_voter)
    if refused is not None:
        raise refused
    return cast


async def object_to(
    campaign: Campaign,
    cmd: NewObjection,
    book: CampaignBook,
    directory: MemberDirectory,
    user: Principal,
) -> Objection:
    # Today from the same clock as `move`'s now: the publicity's days are one calendar for both.
    campaign.require_objections_open(local_today(utcnow()))
    await voter(campaign, directory, user)
    if cmd.nomination_id not in {w.nomination_id for w in campaign.listed}:
        raise Invalid("nomination.not_found", "该人选不在公示名单中", id=cmd.nomination_id)
    objection = raise_objection(f"ob-{uuid.uuid4().hex[:12]}", campaign, cmd, user.subject)
    return await book.objections.add(objection, Actor.of(user), "raise")


async def objection_of(book: CampaignBook, campaign: Campaign, objection_id: str) -> Objection:
    found = await book.objections.get(objection_id)
    if found is None or found.campaign_id != campaign.id:
        raise NotFound("objection.not_found", "未找到该异议", id=objection_id)
    return found


async def resolve(
    campaign: Campaign, objection_id: str, cmd: Resolve, book: CampaignBook, user: Principal
) -> Objection:
    runs(user, campaign)
    campaign.require_phase(CampaignPhase.publicity, action="处理异议")
    await objection_of(book, campaign, objection_id)
    return await book.objections.change(
        objection_id, lambda o: o.resolve(cmd), Actor.of(user), "resolve"
    )

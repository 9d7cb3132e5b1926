"""Staff congress use cases: sessions and their representatives, proposals from draft to
rating, resolutions and their votes.

Who may: a cadre of the session's campus runs the session (registers its representatives,
by hand or from the members' congress terms) and acts as its proposal committee
(立案审查) and records the handling departments' replies; a representative of the session
drafts, co-signs and rates; the head of a delegation endorses its members' proposals; every
member of the scope reads the register.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from services.events.congress.domain import (
    Assignment,
    Choice,
    CongressSession,
    Count,
    Decision,
    NewProposal,
    NewRepresentatives,
    NewResolution,
    NewSession,
    Proposal,
    ProposalStatus,
    Rating,
    Resolution,
    draft,
    new_session,
    open_resolution,
)
from services.events.congress.store import CongressBook, term_holders
from shared.aggregate import Actor
from shared.auth import Principal, Role
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import local_today, utcnow

MEMBERS = frozenset({"active", "retired"})


def runs(user: Principal, session: CongressSession) -> None:
    user.require(Role.cadre, campus=session.campus)


def in_scope(user: Principal, campus: str) -> bool:
    return campus == "*" or user.can_access(campus)


async def visible_session(book: CongressBook, session_id: str, user: Principal) -> CongressSession:
    session = await book.sessions.get(session_id)
    if session is None or not in_scope(user, session.campus):
        raise NotFound("congress.not_found", "未找到该次教代会", id=session_id)
    return session


async def visible_proposal(book: CongressBook, proposal_id: str, user: Principal) -> Proposal:
    proposal = await book.proposals.get(proposal_id)
    if proposal is None or not in_scope(user, proposal.campus):
        raise NotFound("proposal.not_found", "未找到该提案", id=proposal_id)
    return proposal


async def visible_resolution(book: CongressBook, resolution_id: str, user: Principal) -> Resolution:
    found = await book.resolutions.get(resolution_id)
    if found is None or not in_scope(user, found.campus):
        raise NotFound("resolution.not_found", "未找到该决议", id=resolution_id)
    return found


async def set_up(cmd: NewSession, book: CongressBook, user: Principal) -> CongressSession:
    user.require(Role.cadre, campus=cmd.campus)
    session = new_session(f"cg-{uuid.uuid4().hex[:10]}", cmd)
    return await book.sessions.add(session, Actor.of(user), "set_up")


async def register(
    session: CongressSession,
    cmd: NewRepresentatives,
    book: CongressBook,
    directory: MemberDirectory,
    user: Principal,
) -> CongressSession:
    """Register representatives (twice is once); unknown or former members are refused before
    anyone is registered."""
    runs(user, session)
    members: list[dict[str, Any]] = []
    for member_id in dict.fromkeys(cmd.member_ids):
        doc = await directory.get(member_id)
        if doc is None or doc.get("status") not in MEMBERS:
            raise Invalid("member.not_found", "未找到该会员", id=member_id)
        if session.campus != "*" and doc.get("campus") != session.campus:
            raise Conflict("congress.other_campus", f"{doc.get('name', '')} 不是本校区的会员")
        members.append(doc)
    if cmd.head is not None and cmd.head not in cmd.member_ids:
        raise Conflict("congress.head_not_listed", "团长须是本次登记的代表之一")
    for doc in members:
        await book.register(session.id, doc)
    if cmd.head is not None:
        head = next(d for d in members if d["_id"] == cmd.head)
        delegation = head.get("campus", "")
        if session.heads.get(delegation) != cmd.head:
            return await book.sessions.change(
                session.id,
                lambda s: s.set_head(delegation, cmd.head or ""),
                Actor.of(user),
                "set_head",
            )
    return session


async def register_from_terms(
    session: CongressSession, book: CongressBook, directory: MemberDirectory, user: Principal
) -> tuple[list[str], list[str]]:
    """从代表任期导入: register every active member of the session's campus whose congress
    term covers the session's year (`term_holders`); twice is once. Returns the member ids
    registered now and those registered before. A member who has left (withdrawn, deceased)
    is not active, so is never imported, as `register` refuses them; one who leaves after
    being registered stays registered, as with `register`: no rule removes a representative."""
    runs(user, session)
    added: list[str] = []
    already: list[str] = []
    for doc in await term_holders(directory, session):
        (added if await book.register(session.id, doc) else already).append(doc["_id"])
    return added, already


async def representative(
    book: CongressBook, session: CongressSession, user: Principal
) -> dict[str, Any]:
    user.require(Role.member)
    rep = await book.representative(session.id, user.subject)
    if rep is None:
        raise Forbidden("congress.not_a_representative", "只有本次教代会的代表可以提出或附议提案")
    return rep


def _before_deadline(session: CongressSession) -> None:
    if not session.open_for_proposals(utcnow()):
        raise Conflict("proposal.deadline_passed", "提案征集已截止", until=session.proposals_until)


async def draft_proposal(
    session: CongressSession, cmd: NewProposal, book: CongressBook, user: Principal
) -> Proposal:
    rep = await representative(book, session, user)
    _before_deadline(session)
    proposal = draft(f"pp-{uuid.uuid4().hex[:10]}", session, cmd, rep)
    return await book.proposals.add(proposal, Actor.of(user), "draft")


async def cosign(proposal: Proposal, book: CongressBook, user: Principal) -> int:
    """Co-sign (附议) a draft; twice is once; returns how many have co-signed."""
    session = await book.sessions.require(proposal.session_id)
    rep = await representative(book, session, user)
    if proposal.proposer_id == user.subject:
        raise Conflict("proposal.own", "提案人不能附议自己的提案")
    if proposal.status is not ProposalStatus.draft:
        raise Conflict(
            "proposal.not_a_draft",
            f"提案当前为「{proposal.status.label}」，不能再附议",
            current=proposal.status,
        )
    _before_deadline(session)
    await book.cosign(proposal.id, rep)
    return len(await book.cosigners(proposal.id))


async def submit(proposal: Proposal, book: CongressBook, user: Principal) -> Proposal:
    user.require_self(proposal.proposer_id, "只有提案人可以提交提案")
    session = await book.sessions.require(proposal.session_id)
    if proposal.status is not ProposalStatus.draft:
        raise Conflict(
            "proposal.invalid_transition",
            f"提案当前为「{proposal.status.label}」，不能提交",
            current=proposal.status,
        )
    _before_deadline(session)
    have = len(await book.cosigners(proposal.id))
    if have < session.cosign_min:
        raise Conflict(
            "proposal.too_few_cosigners",
            f"提案需要至少 {session.cosign_min} 位代表附议，目前 {have} 位",
            needed=session.cosign_min,
            have=have,
        )
    # One submission per proposal claims a register number: twin requests would leave gaps.
    if not await book.start_submission(proposal.id):
        raise Conflict("proposal.submitting", "该提案已提交", current=ProposalStatus.submitted)
    number = await book.numbers.claim(session.id, {"proposal": proposal.id})
    try:
        return await book.proposals.change(
            proposal.id, lambda p: p.submit(number), Actor.of(user), "submit"
        )
    except Exception:
        await book.numbers.void(session.id, number)
        await book.end_submission(proposal.id)
        raise


async def endorse(proposal: Proposal, book: CongressBook, user: Principal) -> Proposal:
    session = await book.sessions.require(proposal.session_id)
    user.require(Role.member)
    if session.heads.get(proposal.delegation) != user.subject:
        raise Forbidden("proposal.not_the_head", "只有提案人所在代表团的团长可以审核")
    return await _change(book, proposal, "endorse", lambda p: p.endorse(), user)


async def _change(
    book: CongressBook, proposal: Proposal, action: str, decide: Callable[[Proposal], Any], user
) -> Proposal:
    return await book.proposals.change(proposal.id, decide, Actor.of(user), action)


async def decide(
    proposal: Proposal, cmd: Decision, book: CongressBook, user: Principal
) -> Proposal:
    user.require(Role.cadre, campus=proposal.campus)
    target = None
    if cmd.merge_into is not None:
        target = await book.proposals.get(cmd.merge_into)
        if target is None or target.session_id != proposal.session_id:
            target = None
    return await _change(
        book, proposal, f"decide_{cmd.decision.value}", lambda p: p.decide(cmd, target), user
    )


async def assign(
    proposal: Proposal, cmd: Assignment, book: CongressBook, user: Principal
) -> Proposal:
    user.require(Role.cadre, campus=proposal.campus)
    today = local_today()
    return await _change(book, proposal, "assign", lambda p: p.assign(cmd, today), user)


async def reply(proposal: Proposal, text: str, book: CongressBook, user: Principal) -> Proposal:
    user.require(Role.cadre, campus=proposal.campus)
    now = utcnow()
    return await _change(book, proposal, "reply", lambda p: p.reply(text, now), user)


async def rate(proposal: Proposal, rating: Rating, book: CongressBook, user: Principal) -> Proposal:
    user.require_self(proposal.proposer_id, "只有提案人可以评价答复")
    return await _change(book, proposal, "rate", lambda p: p.rate(rating), user)


async def ask_again(proposal: Proposal, book: CongressBook, user: Principal) -> Proposal:
    user.require_self(proposal.proposer_id, "只有提案人可以要求再次答复")
    today = local_today()
    return await _change(book, proposal, "ask_again", lambda p: p.ask_again(today), user)


# -- resolutions ------------------------------------------------------------------------------


async def propose_resolution(
    session: CongressSession, cmd: NewResolution, book: CongressBook, user: Principal
) -> Resolution:
    runs(user, session)
    resolution = open_resolution(f"rs-{uuid.uuid4().hex[:10]}", session, cmd)
    return await book.resolutions.add(resolution, Actor.of(user), "open")


async def vote(resolution: Resolution, choice: Choice, book: CongressBook, user: Principal) -> None:
    session = await book.sessions.require(resolution.session_id)
    await representative(book, session, user)
    if resolution.status.value != "voting":
        raise Conflict("resolution.closed", "表决已结束", current=resolution.status)
    if not await book.vote(resolution.id, user.subject, choice.value):
        raise Conflict("resolution.voted", "您已对该事项投过票")


async def close(resolution: Resolution, book: CongressBook, user: Principal) -> Resolution:
    user.require(Role.cadre, campus=resolution.campus)
    counts = await book.count(resolution.id)
    count = Count(
        representatives=await book.count_representatives(resolution.session_id),
        votes_for=counts.get(Choice.yes.value, 0),
        votes_against=counts.get(Choice.no.value, 0),
        abstentions=counts.get(Choice.abstain.value, 0),
    )
    now = utcnow()
    return await book.resolutions.change(
        resolution.id, lambda r: r.close(count, now), Actor.of(user), "close"
    )

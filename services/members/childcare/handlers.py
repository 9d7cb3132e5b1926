"""Childcare survey use cases: open and close a round, answer it, who has not, statistics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.members.childcare.domain import (
    Answer,
    Child,
    OpenRound,
    Round,
    RoundStatus,
    Tally,
    latest_answers,
    needs_revision,
    open_round,
    tally,
)
from services.members.childcare.store import NOT_FOUND, Rounds
from services.members.membership.domain import Member, MemberStatus
from services.members.membership.store import MemberRegistry
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.errors import ConcurrencyConflict, Conflict, NotFound
from shared.timeutil import local_today, utcnow

Check = Callable[[Round], None]  # the caller's permission on the round


async def open_collection(cmd: OpenRound, rounds: Rounds, org: Organisation, actor: Actor) -> Round:
    """开始入园入托统计: one round per campus and survey date (a second is a 409)."""
    await org.campus(cmd.campus)
    return await rounds.add(open_round(cmd, local_today()), actor)


def active_in(campus: str) -> dict[str, str]:
    """Who a round of `campus` asks: its active members (retirees and applicants are not)."""
    return {"campus": campus, "status": MemberStatus.active.value}


async def close_collection(
    round_id: str, rounds: Rounds, members: MemberRegistry, actor: Actor, check: Check
) -> Round:
    """结束: no more answers; the counts of who answered and who was asked are kept."""
    current = await rounds.store.require(round_id)
    check(current)
    answered = len(await rounds.answered(round_id))
    expected = await members.store.count(active_in(current.campus))

    def decide(found: Round) -> None:
        check(found)
        found.close(local_today(), answered, expected)

    return await rounds.store.change(round_id, decide, actor, "close")


@dataclass(frozen=True)
class Answered:
    answer: Answer
    replayed: bool  # this confirmation added nothing: the answer already said so


async def answer_round(
    round_id: str,
    member_id: str,
    children: list[Child] | None,
    rounds: Rounds,
    members: MemberRegistry,
    actor: Actor,
) -> Answered:
    """A member confirms their children in a round, or states them anew (`children`) first.

    The children are the member's record (a versioned change); the answer keeps what was
    confirmed. Only the member's own campus's open round, and only while they are active.
    """
    found = await rounds.store.require(round_id)
    member = await members.store.require(member_id)  # the record as it is now
    if member.campus != found.campus:
        raise NotFound(*NOT_FOUND, id=round_id)  # a round of another campus is not theirs
    found.require_open()
    if member.status is not MemberStatus.active:
        raise Conflict(
            "childcare.member_not_active",
            "只有在会会员参加入园入托统计",
            current=member.status.value,
        )
    if children is not None:
        member = await members.store.change(
            member_id, lambda m: m.set_children(children), actor, "set_children"
        )
    return await _confirm(rounds, round_id, member, actor)


async def _confirm(rounds: Rounds, round_id: str, member: Member, actor: Actor) -> Answered:
    """Write the next revision if the answer does not say this already.

    Walks the member's revisions by `_id` and finds their end by inserting (the insert of
    revision N succeeds exactly when N-1 was the last): the first answer is one insert, and
    only a confirmation that adds nothing reads a revision that is not there (a scan on
    FerretDB/SQLite) to be sure none follows.
    """
    revisions: list[Answer] = []
    for _ in range(64):
        revision = len(revisions) + 1
        if revisions and not needs_revision(revisions, member.children, member.version):
            following = await rounds.revision(round_id, member.id, revision)
            if following is None:
                return Answered(latest_answers(revisions)[0], replayed=True)
            revisions.append(following)
            continue
        written = await rounds.insert_answer(
            Answer(
                round_id=round_id,
                member_id=member.id,
                campus=member.campus,
                revision=revision,
                member_version=member.version,
                at=utcnow(),
                children=member.children,
            ),
            actor,
        )
        if written is not None:
            return Answered(written, replayed=False)
        found = await rounds.revision(round_id, member.id, revision)
        if found is not None:
            revisions.append(found)
    raise ConcurrencyConflict(f"{round_id}:{member.id}")


async def my_answer(round_id: str, member_id: str, rounds: Rounds) -> Answer:
    revisions = await rounds.of_member(round_id, member_id)
    if not revisions:
        raise NotFound("childcare.not_answered", "尚未填报本次入园入托统计", round_id=round_id)
    return latest_answers(revisions)[0]


async def unanswered(
    found: Round, rounds: Rounds, members: MemberRegistry, limit: int, offset: int
) -> tuple[list[Member], int]:
    """Active members of the round's campus without an answer, by staff number, a page."""
    answered = await rounds.answered(found.id)
    query = {**active_in(found.campus), "_id": {"$nin": answered}}
    return await members.page(query, limit, offset)


@dataclass(frozen=True)
class RoundStats:
    round: Round
    expected: int
    tally: Tally


async def statistics(found: Round, rounds: Rounds, members: MemberRegistry) -> RoundStats:
    """The counts of a round; final once it is closed (answers are kept as confirmed)."""
    answers = latest_answers(await rounds.revisions(found.id))
    if found.status is RoundStatus.closed and found.expected is not None:
        expected = found.expected
    else:
        expected = await members.store.count(active_in(found.campus))
    return RoundStats(found, expected, tally(answers, found.survey_date))


async def set_children(
    member_id: str,
    children: list[Child],
    members: MemberRegistry,
    actor: Actor,
    check: Callable[[Member], None],
) -> Member:
    """The member (or an admin) states the member's children, outside any round."""

    def decide(member: Member) -> None:
        check(member)
        member.set_children(children)

    return await members.store.change(member_id, decide, actor, "set_children")

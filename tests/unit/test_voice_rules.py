"""Pure rules of commendations and the staff congress: the campaign's phases, who is elected
from a tally, the proposal's transitions table, overdue replies, and the quorum rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.events.commendations.domain import (
    CampaignPhase,
    NewCampaign,
    NewCategory,
    Nomination,
    NominationStatus,
    PhaseMove,
    Quota,
    elect,
    new_campaign,
)
from services.events.congress.domain import (
    TRANSITIONS,
    Assignment,
    Count,
    Decision,
    NewProposal,
    NewSession,
    ProposalStatus,
    Rating,
    ResolutionStatus,
    decide,
    draft,
    new_session,
)
from shared.errors import Conflict

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


def _campaign():
    return new_campaign(
        "cm-0000000001",
        NewCampaign(
            title="师德标兵评选",
            year=2026,
            campus="*",
            categories=[
                NewCategory(
                    name="师德标兵",
                    quotas=[Quota(campus="main", count=2), Quota(campus="east", count=1)],
                )
            ],
        ),
    )


def _nominee(n: int, campus: str, status=NominationStatus.shortlisted) -> Nomination:
    return Nomination(
        id=f"n{n}",
        campus=campus,
        campaign_id="cm-0000000001",
        category_id="c1",
        member_id=f"m{n}",
        name=f"老师{n}",
        department="系",
        by_kind="self",
        reasons="事迹",
        status=status,
    )


def test_the_campaign_moves_only_along_its_table_and_names_its_phase():
    campaign = _campaign()
    with pytest.raises(Conflict) as refused:
        campaign.move(PhaseMove(to=CampaignPhase.voting), NOW)
    assert refused.value.code == "campaign.invalid_transition"
    assert "征集推荐" in refused.value.message
    campaign.move(PhaseMove(to=CampaignPhase.reviewing), NOW)
    with pytest.raises(Conflict):
        campaign.move(PhaseMove(to=CampaignPhase.voting, voting_closes_at=NOW), NOW)
    closes = NOW + timedelta(days=2)
    campaign.move(PhaseMove(to=CampaignPhase.voting, voting_closes_at=closes), NOW)
    assert campaign.voting_open(NOW) and not campaign.voting_open(closes)
    # Opening the publicity early closes the vote at that moment.
    publicity = PhaseMove(
        to=CampaignPhase.publicity,
        publicity_from=date(2026, 5, 1),
        publicity_until=date(2026, 5, 7),
    )
    campaign.move(publicity, NOW)
    assert campaign.voting_closes_at == NOW and not campaign.voting_open(NOW)
    with pytest.raises(Conflict) as running:
        campaign.move(PhaseMove(to=CampaignPhase.published), NOW)
    assert running.value.code == "campaign.publicity_running"


def test_quotas_per_campus_are_filled_by_votes_and_upheld_objections_move_the_next_up():
    campaign = _campaign()
    people = [
        _nominee(1, "main"),
        _nominee(2, "main"),
        _nominee(3, "main"),
        _nominee(4, "east"),
        _nominee(5, "east", NominationStatus.rejected),
    ]
    tally = {"n1": 5, "n2": 9, "n3": 7, "n4": 1, "n5": 99}
    elected = [(w.nomination_id, w.votes) for w in elect(campaign, people, tally)]
    assert elected == [("n2", 9), ("n3", 7), ("n4", 1)]
    again = [w.nomination_id for w in elect(campaign, people, tally, frozenset({"n2"}))]
    assert again == ["n3", "n1", "n4"]


def _proposal():
    session = new_session(
        "cg-0000000001",
        NewSession(title="教代会", year=2026, campus="main", proposals_until=NOW),
    )
    cmd = NewProposal(title="案由", reasons="理由", measures="措施", department="后勤处")
    return draft(
        "pp-0000000001", session, cmd, {"member_id": "m1", "name": "甲", "delegation": "main"}
    )


def test_every_status_has_its_moves_and_a_refusal_names_the_current_one():
    assert set(TRANSITIONS) == set(ProposalStatus)
    proposal = _proposal()
    with pytest.raises(Conflict) as refused:
        proposal.endorse()
    assert refused.value.code == "proposal.invalid_transition"
    assert "草稿" in refused.value.message
    proposal.submit(1)
    proposal.endorse()
    with pytest.raises(Conflict):
        proposal.decide(Decision(decision=ProposalStatus.rejected), None)
    with pytest.raises(Conflict):
        proposal.decide(Decision(decision=ProposalStatus.merged, reason="相近"), None)
    proposal.decide(Decision(decision=ProposalStatus.accepted), None)
    today = date(2026, 5, 1)
    with pytest.raises(Conflict):
        proposal.assign(Assignment(department="后勤处", due_on=date(2026, 4, 30)), today)
    proposal.assign(Assignment(department="后勤处", due_on=today), today)
    assert not proposal.overdue(today) and proposal.overdue(date(2026, 5, 2))
    proposal.reply("已办理", NOW)
    assert not proposal.overdue(date(2026, 6, 1))  # replied: no longer waiting
    proposal.rate(Rating.unsatisfied)
    proposal.ask_again(today)
    assert proposal.due_on == date(2026, 5, 16)
    proposal.reply("再次答复", NOW)
    proposal.rate(Rating.basically)
    assert (proposal.rating, proposal.second_rating) == (Rating.unsatisfied, Rating.basically)
    with pytest.raises(Conflict) as once:
        proposal.ask_again(today)
    assert once.value.code == "proposal.second_reply_used"
    statuses = [e.status for e in proposal.events]
    assert statuses[-1] == "rated"


@pytest.mark.parametrize(
    ("reps", "yes", "no", "abstain", "result"),
    [
        (6, 4, 0, 0, ResolutionStatus.passed),  # 4 of 6 take part (2/3), 4 > 3
        (6, 3, 0, 0, ResolutionStatus.no_quorum),  # 3 of 6 take part
        (6, 3, 1, 0, ResolutionStatus.failed),  # 3 is not more than half of all 6
        (7, 4, 0, 1, ResolutionStatus.passed),  # 5 of 7 ≥ 2/3; 4 > 3.5
        (7, 4, 0, 0, ResolutionStatus.no_quorum),  # 4 of 7 < 2/3
        (0, 0, 0, 0, ResolutionStatus.no_quorum),
    ],
)
def test_the_quorum_rule(reps, yes, no, abstain, result):
    assert decide(Count(reps, yes, no, abstain)) is result

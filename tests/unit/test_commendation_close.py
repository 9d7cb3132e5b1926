"""The close of a commendation vote, as pure rules: which move closes it, a move that will be
refused is refused before anything is closed, and what a ballot none of whose votes went in
is answered (a vote withdrawn at the close says 投票已截止 first)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.events.commendations.domain import (
    Campaign,
    CampaignPhase,
    PhaseMove,
    ballot_refusal,
)
from shared.errors import Conflict
from tests.unit.campaigns import voting_campaign

NOW = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)
PUBLICITY = PhaseMove(
    to=CampaignPhase.publicity, publicity_from=date(2026, 5, 4), publicity_until=date(2026, 5, 7)
)


def voting() -> Campaign:
    return voting_campaign("cm-0000000003", NOW, NOW + timedelta(days=1))


def test_only_the_move_from_voting_to_publicity_closes_the_vote():
    campaign = voting()
    assert campaign.closes_vote(PUBLICITY) and not campaign.votes_counted
    campaign.move(PUBLICITY, NOW)
    assert campaign.votes_counted and not campaign.closes_vote(PUBLICITY)
    assert not voting().closes_vote(PhaseMove(to=CampaignPhase.published))


@pytest.mark.parametrize(
    ("move", "code"),
    [
        (PhaseMove(to=CampaignPhase.publicity), "campaign.publicity_dates"),
        (
            PhaseMove(
                to=CampaignPhase.publicity,
                publicity_from=date(2026, 5, 7),
                publicity_until=date(2026, 5, 4),
            ),
            "campaign.publicity_dates",
        ),
        (PhaseMove(to=CampaignPhase.published), "campaign.invalid_transition"),
    ],
    ids=["no-dates", "ends-before-it-starts", "skips-publicity"],
)
def test_a_refused_move_is_refused_before_the_vote_is_closed(move, code):
    campaign = voting()
    before = campaign.model_dump()
    with pytest.raises(Conflict) as refused:
        campaign.check_move(move, NOW)
    assert refused.value.code == code
    assert campaign.model_dump() == before and campaign.voting_open(NOW)
    with pytest.raises(Conflict):  # `move` refuses exactly what `check_move` refuses
        campaign.move(move, NOW)
    campaign.check_move(PUBLICITY, NOW)  # the good one passes, and still moves nothing
    assert campaign.phase is CampaignPhase.voting and campaign.voting_open(NOW)


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"a": "cast", "b": "closed"}, None),
        ({"a": "cast", "b": "full"}, None),
        ({"a": "closed"}, "vote.closed"),
        ({"a": "closed", "b": "full", "c": "again"}, "vote.closed"),
        ({"a": "full", "b": "full"}, "vote.limit"),
        ({"a": "again"}, "vote.again"),
        ({"a": "again", "b": "full"}, None),
    ],
)
def test_what_a_ballot_none_of_whose_votes_went_in_is_answered(answers, code):
    refused = ballot_refusal(answers, 3)
    assert (refused.code if refused else None) == code
    if refused is not None:
        assert refused.status == 409
    if code == "vote.closed":
        assert refused is not None and refused.message == "投票已截止，本次投票未计入"
    if code == "vote.limit":
        assert refused is not None and "3 票已经投完" in refused.message

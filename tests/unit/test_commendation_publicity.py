"""The publicity's dates (公示期), as pure rules: members object from its first day to its last
(both included), and the result is published only once the last day is over — by the
school's calendar (Beijing), not the server's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.events.commendations.domain import Campaign, CampaignPhase, PhaseMove
from shared.errors import Conflict
from tests.unit.campaigns import voting_campaign

OPENED = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
FROM, UNTIL = date(2026, 5, 4), date(2026, 5, 7)
PUBLISH = PhaseMove(to=CampaignPhase.published)


def in_publicity() -> Campaign:
    campaign = voting_campaign("cm-0000000002", OPENED, OPENED + timedelta(hours=1))
    dates = PhaseMove(to=CampaignPhase.publicity, publicity_from=FROM, publicity_until=UNTIL)
    campaign.move(dates, OPENED)
    return campaign


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    """That moment of Beijing time, as the server's clock (UTC) gives it."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(
    "now",
    [beijing(UNTIL, 0, 1), beijing(UNTIL, 23, 59), beijing(FROM, 9)],
    ids=["last-day-morning", "last-day-23:59", "first-day"],
)
def test_the_result_waits_until_the_last_day_of_publicity_is_over(now):
    campaign = in_publicity()
    with pytest.raises(Conflict) as refused:
        campaign.move(PUBLISH, now)
    assert refused.value.code == "campaign.publicity_running"
    assert refused.value.status == 409
    assert "2026-05-07（含）" in refused.value.message and "2026-05-08 起" in refused.value.message
    assert refused.value.details == {"until": "2026-05-07"}
    assert campaign.phase is CampaignPhase.publicity and campaign.elected == []


def test_the_result_is_published_from_the_day_after_by_beijing_time():
    campaign = in_publicity()
    # 16:00 UTC on the last day is already 00:00 of the next day in Beijing.
    campaign.move(PUBLISH, datetime(2026, 5, 7, 16, 0, tzinfo=UTC))
    assert campaign.phase is CampaignPhase.published


@pytest.mark.parametrize("today", [FROM - timedelta(days=3), FROM - timedelta(days=1)])
def test_an_objection_before_the_publicity_begins_is_refused_naming_its_first_day(today):
    with pytest.raises(Conflict) as refused:
        in_publicity().require_objections_open(today)
    assert refused.value.code == "objection.too_early" and refused.value.status == 409
    assert "2026-05-04" in refused.value.message
    assert refused.value.details == {"publicity_from": "2026-05-04"}


@pytest.mark.parametrize("today", [FROM, FROM + timedelta(days=1), UNTIL])
def test_objections_are_open_from_the_first_day_to_the_last(today):
    in_publicity().require_objections_open(today)  # no refusal


def test_an_objection_after_the_publicity_is_refused_naming_its_last_day():
    with pytest.raises(Conflict) as refused:
        in_publicity().require_objections_open(UNTIL + timedelta(days=1))
    assert refused.value.code == "objection.too_late"
    assert "2026-05-07" in refused.value.message


def test_no_objection_outside_the_publicity_phase():
    campaign = in_publicity()
    campaign.move(PUBLISH, beijing(UNTIL + timedelta(days=1), 9))
    with pytest.raises(Conflict) as refused:
        campaign.require_objections_open(UNTIL)
    assert refused.value.code == "campaign.wrong_phase"

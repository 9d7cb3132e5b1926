"""A commendation campaign brought to its vote, for the rules' tests."""

from __future__ import annotations

from datetime import datetime

from services.events.commendations.domain import (
    Campaign,
    CampaignPhase,
    NewCampaign,
    NewCategory,
    PhaseMove,
    Quota,
    new_campaign,
)


def voting_campaign(campaign_id: str, at: datetime, closes_at: datetime) -> Campaign:
    """师德标兵评选 (one category, one place on main) moved through review into its vote."""
    campaign = new_campaign(
        campaign_id,
        NewCampaign(
            title="师德标兵评选",
            year=2026,
            campus="main",
            categories=[NewCategory(name="师德标兵", quotas=[Quota(campus="main", count=1)])],
        ),
    )
    campaign.move(PhaseMove(to=CampaignPhase.reviewing), at)
    campaign.move(PhaseMove(to=CampaignPhase.voting, voting_closes_at=closes_at), at)
    return campaign

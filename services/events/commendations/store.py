"""Commendations' storage: the three aggregates, and the secret ballot box.

The ballot box keeps two collections, neither holding a member id next to a candidate:

- `commendation_vote_slots`: a voter's K votes in a category are the slots
  `<campaign>:<category>:<voter token>#000001 … #00000K` (`shared.claims.take_slot`); the
  voter token is an HMAC of (campaign, category, member) under the service's vote key, and a
  slot's holder is an HMAC of (…, candidate). The slot's unique `_id` caps a voter at K votes,
  the unique (pool, holder) index at one vote per candidate, under any concurrency.
- `commendation_ballots`: one document per vote: campaign, category, candidate and nothing
  else (no voter, no time). Its `_id` is an HMAC of the slot holder, so the same vote retried
  (or raced) is one ballot, and a ballot cannot be walked back to its slot without the key.

So the tally (ballots per candidate) is public, and "who voted for whom" is in no document:
a reader of the database sees tokens, never member ids, next to a vote. The key is derived
from the service's calendar secret with its own label (`vote_key`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Any, NamedTuple

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.events.commendations.domain import Campaign, Nomination, Objection
from shared.aggregate import AggregateStore
from shared.claims import setup_slot_indexes, take_slots

CAMPAIGNS = "campaigns"
NOMINATIONS = "nominations"
OBJECTIONS = "objections"
CAMPAIGN_TOPIC = "events.campaign"
NOMINATION_TOPIC = "events.nomination"
OBJECTION_TOPIC = "events.objection"
CAMPAIGN_NOT_FOUND = ("campaign.not_found", "未找到该评选")
NOMINATION_NOT_FOUND = ("nomination.not_found", "未找到该推荐")
OBJECTION_NOT_FOUND = ("objection.not_found", "未找到该异议")
SLOTS = "commendation_vote_slots"
BALLOTS = "commendation_ballots"


def vote_key(secret: bytes) -> bytes:
    """The ballot box's own key, derived from the service secret (never used for anything
    else, so a calendar feed's token says nothing about a vote)."""
    return hmac.new(secret, b"gonghui/commendation-votes/v1", hashlib.sha256).digest()


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:40]


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_slot_indexes(db[SLOTS])
    await db[BALLOTS].create_index([("campaign", 1), ("category", 1)])


class Cast(NamedTuple):
    answers: dict[str, str]  # candidate → cast / again / full
    used: int  # the voter's votes used in the category


class BallotBox:
    """Votes of every campaign: cast, a voter's own votes, and the tally."""

    def __init__(self, db: AsyncDatabase, key: bytes) -> None:
        self.slots = db[SLOTS]
        self.ballots = db[BALLOTS]
        self.key = key

    def _pool(self, campaign: str, category: str, voter: str) -> str:
        return f"{campaign}:{category}:{_mac(self.key, 'voter', campaign, category, voter)}"

    def _pair(self, campaign: str, category: str, voter: str, candidate: str) -> str:
        return _mac(self.key, "pair", campaign, category, voter, candidate)

    async def cast(
        self, campaign: str, category: str, voter: str, candidates: list[str], limit: int
    ) -> Cast:
        """A ballot: per candidate "cast", "again" (this voter's vote for this candidate is in
        already) or "full" (the voter has used their `limit` votes); and how many of them the
        voter has used now (what the pool read before the insert showed, and what it took:
        the answer needs no second read)."""
        pairs = {c: self._pair(campaign, category, voter, c) for c in candidates}
        pool = self._pool(campaign, category, voter)
        # A vote is never taken back, so a first ballot takes its slots without reading.
        slots, used = await take_slots(
            self.slots, pool, limit, list(pairs.values()), never_released=True
        )
        answers = {c: "full" for c, pair in pairs.items() if slots[pair] is None}
        # A slot is this pair's (new, or taken by a retry or a racing twin): the ballot's key
        # makes the vote count once. No `claimed_at`: a time would pair it with its slot.
        ballots = [
            {
                "_id": _mac(self.key, "ballot", pair),
                "campaign": campaign,
                "category": category,
                "candidate": c,
            }
            for c, pair in pairs.items()
            if c not in answers
        ]
        again: set[str] = set()
        if ballots:
            try:
                await self.ballots.insert_many(ballots, ordered=False)
            except BulkWriteError as e:
                again = {ballots[err["index"]]["candidate"] for err in e.details["writeErrors"]}
        for ballot in ballots:
            answers[ballot["candidate"]] = "again" if ballot["candidate"] in again else "cast"
        return Cast({c: answers[c] for c in candidates}, used)

    async def mine(
        self, campaign: str, category: str, voter: str, candidates: list[str]
    ) -> tuple[int, list[str]]:
        """How many votes the voter has used in the category, and for which candidates (the
        service answers this for the voter alone: it needs the key and the member id)."""
        pool = self._pool(campaign, category, voter)
        pairs = {self._pair(campaign, category, voter, c): c for c in candidates}
        used: list[str] = []
        count = 0
        async for slot in self.slots.find({"pool": pool}, {"holder": 1}):
            count += 1
            if slot["holder"] in pairs:
                used.append(pairs[slot["holder"]])
        return count, sorted(used)

    async def tally(self, campaign: str) -> Counter[str]:
        """Votes per candidate (nomination id) of every category of the campaign."""
        counts: Counter[str] = Counter()
        async for ballot in self.ballots.find({"campaign": campaign}, {"candidate": 1}):
            counts[ballot["candidate"]] += 1
        return counts


class CampaignBook:
    """The campaigns, nominations and objections, and the ballot box."""

    def __init__(
        self,
        campaigns: AggregateStore[Campaign],
        nominations: AggregateStore[Nomination],
        objections: AggregateStore[Objection],
        box: BallotBox,
    ) -> None:
        self.campaigns = campaigns
        self.nominations = nominations
        self.objections = objections
        self.box = box

    async def nominations_of(self, campaign_id: str, **where: Any) -> list[Nomination]:
        return await self.nominations.find(
            {"campaign_id": campaign_id, **where}, sort=[("_id", 1)], limit=5000
        )

    async def objections_of(self, campaign_id: str, **where: Any) -> list[Objection]:
        return await self.objections.find(
            {"campaign_id": campaign_id, **where}, sort=[("_id", 1)], limit=5000
        )

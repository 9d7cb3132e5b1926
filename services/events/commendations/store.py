"""Commendations' storage: the three aggregates, and the secret ballot box.

The ballot box keeps two collections, neither holding a member id next to a candidate (and
two more for its close, below):

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

**The close** (投票 → 公示, early or after the closing time) and a vote in flight. A vote reads
the phase when it starts, so without more a ballot could land after the close had counted:
counted later, missing from the 公示 list. FerretDB updates are not atomic, so the order rests
on unique-key inserts only, in `commendation_vote_closes` and `commendation_ballot_verdicts`
(a verdict's `_id` is its ballot's: campaign, category, candidate, counted or not; no voter,
no time). Dekker's order:

- the vote (`cast`): V1 insert its ballots, then V2 read the close claim. No claim: done, the
  ballots count. A claim: for each ballot it inserted, V3 insert the verdict "withdrawn"; if
  that insert wins, it deletes the ballot and its slot and answers "closed"; if a verdict was
  there already, that verdict stands ("counted": the vote answers "cast").
- the close (`close`): C1 insert the claim `<campaign>` (or find it there), then C2 read the
  campaign's ballots, then C3 fix them as the roll `<campaign>:roll` (the first roll written
  is the roll: a later close reads it instead), then C4 insert the verdict "counted" for every
  ballot of the roll (one that has a verdict already keeps it), then C5 read the counted
  verdicts: that is the tally the 公示 list is elected from, and the tally from then on.

Why it is right (one server: a read sees every write committed before it began, and an
insert answers, done or refused as a duplicate, only once the document it is about is
committed):

1. A vote that saw no claim at V2 is in the roll: the claim was committed after V2 began, so
   after V1's ballots were; every close's C1 answers after that commit, so every close's C2
   reads them. Its ballots have no verdict but the close's "counted" (only a request that
   inserted a ballot and then saw the claim writes "withdrawn" for it; nobody inserts it
   again while it exists), so each is counted.
2. A vote that saw the claim: each of its ballots gets exactly one verdict (unique `_id`),
   written by it or by a close, and the vote answers by that verdict. A ballot outside the
   roll is never given "counted" (closes only write the roll's), so its writer withdraws it.
3. So the counted verdicts are the roll minus the ballots withdrawn, each fixed forever once
   written, and only the roll's. When a close has done C4, every ballot of the roll has its
   verdict: its C5, and every later read of the counted verdicts, read the same set. Two
   closes at once write the same verdicts and elect the same list, and one dying half way
   leaves nothing another cannot finish. Every vote answered "cast" is in that set, none
   answered "closed" is.

Withdrawing frees the slot too, so "my votes" does not show a vote that did not count; a vote
counted keeps its slot, so the slots still cap the counted votes at K. Before the close, the
cadre's live tally counts the ballots (one in flight is there a moment early); from the 公示
on, `tally(closed=True)` counts the counted verdicts. The closing time itself is read as the
phase is: a vote that started before it counts, unless the close got ahead of its ballot as
above. "again" answers a vote of the same voter made by another request, whose own answer says
whether it counted. The claim is never taken back: a close whose move is then refused (another
cadre's move won) has still closed the vote. The roll is one document of 40-character ids:
some 300,000 ballots fit in its 16 MB.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Any, NamedTuple

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.events.commendations.domain import Campaign, Nomination, Objection
from shared.aggregate import AggregateStore
from shared.claims import claim_once, setup_slot_indexes, take_slots
from shared.mongo import find_by_ids

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
CLOSES = "commendation_vote_closes"
VERDICTS = "commendation_ballot_verdicts"


def vote_key(secret: bytes) -> bytes:
    """The ballot box's own key, derived from the service secret (never used for anything
    else, so a calendar feed's token says nothing about a vote)."""
    return hmac.new(secret, b"gonghui/commendation-votes/v1", hashlib.sha256).digest()


def _mac(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:40]


async def setup_indexes(db: AsyncDatabase) -> None:
    await setup_slot_indexes(db[SLOTS])
    await db[BALLOTS].create_index([("campaign", 1), ("category", 1)])
    await db[VERDICTS].create_index([("campaign", 1), ("counted", 1)])


class Cast(NamedTuple):
    answers: dict[str, str]  # candidate → cast / again / full / closed
    used: int  # the voter's votes used in the category


class BallotBox:
    """Votes of every campaign: cast, a voter's own votes, and the tally."""

    def __init__(self, db: AsyncDatabase, key: bytes) -> None:
        self.slots = db[SLOTS]
        self.ballots = db[BALLOTS]
        self.closes = db[CLOSES]
        self.verdicts = db[VERDICTS]
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
        mine = [b for b in ballots if b["candidate"] not in again]
        closed = await self._withdraw_if_closed(campaign, pool, mine, pairs) if mine else set()
        for ballot in ballots:
            c = ballot["candidate"]
            answers[c] = "again" if c in again else "closed" if c in closed else "cast"
        return Cast({c: answers[c] for c in candidates}, used - len(closed))

    async def _withdraw_if_closed(
        self, campaign: str, pool: str, mine: list[dict[str, Any]], pairs: dict[str, str]
    ) -> set[str]:
        """The vote's half of the close (module doc): its ballots are in; if the vote has been
        closed meanwhile, withdraw each one no close has counted. The candidates withdrawn."""
        if await self.closes.find_one({"_id": campaign}, {"_id": 1}) is None:
            return set()
        verdicts = [{**b, "counted": False} for b in mine]
        refused = await _insert_verdicts(self.verdicts, verdicts)
        counted = await find_by_ids(self.verdicts, refused, {"_id": 1}, where={"counted": True})
        withdrawn = [b for b in mine if b["_id"] not in counted]
        if withdrawn:
            await self.ballots.delete_many({"_id": {"$in": [b["_id"] for b in withdrawn]}})
            holders = [pairs[b["candidate"]] for b in withdrawn]
            await self.slots.delete_many({"pool": pool, "holder": {"$in": holders}})
        return {b["candidate"] for b in withdrawn}

    async def close(self, campaign: str) -> Counter[str]:
        """Close the vote of the campaign once and for all (module doc: claim, roll, verdicts)
        and return its tally: the votes per candidate that count. Twice is once."""
        await claim_once(self.closes, campaign)
        read = {
            b["_id"]: b
            async for b in self.ballots.find(
                {"campaign": campaign}, {"category": 1, "candidate": 1, "campaign": 1}
            )
        }
        roll_id = f"{campaign}:roll"
        if not await claim_once(self.closes, roll_id, {"ballots": sorted(read)}):
            roll = await self.closes.find_one({"_id": roll_id}) or {"ballots": []}
            missing = [i for i in roll["ballots"] if i not in read]
            read = {i: read[i] for i in roll["ballots"] if i in read}
            # The roll's writer may have read after this close did: ballots not read here
            # are looked up (one withdrawn since is gone, and has its verdict already).
            read.update(await find_by_ids(self.ballots, missing))
        await _insert_verdicts(self.verdicts, [{**b, "counted": True} for b in read.values()])
        return await self._counted(campaign)

    async def _counted(self, campaign: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        query = {"campaign": campaign, "counted": True}
        async for verdict in self.verdicts.find(query, {"candidate": 1}):
            counts[verdict["candidate"]] += 1
        return counts

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

    async def tally(self, campaign: str, *, closed: bool = False) -> Counter[str]:
        """Votes per candidate (nomination id) of every category of the campaign: the ballots
        while voting, the close's count once `closed` (a campaign closed before the close kept
        a roll has only its ballots)."""
        if closed and await self.closes.find_one({"_id": f"{campaign}:roll"}, {"_id": 1}):
            return await self._counted(campaign)
        counts: Counter[str] = Counter()
        async for ballot in self.ballots.find({"campaign": campaign}, {"candidate": 1}):
            counts[ballot["candidate"]] += 1
        return counts


async def _insert_verdicts(coll: AsyncCollection, verdicts: list[dict[str, Any]]) -> list[str]:
    """Insert each ballot's verdict unless it has one (`_id`: the ballot's): the ids refused.
    No `claimed_at`: a time would pair a verdict with its slot."""
    if not verdicts:
        return []
    try:
        await coll.insert_many(verdicts, ordered=False)
    except BulkWriteError as e:
        return [verdicts[err["index"]]["_id"] for err in e.details["writeErrors"]]
    return []


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

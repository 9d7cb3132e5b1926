"""The staff congress's storage: sessions, proposals and resolutions (aggregates), and the
claims their rules rest on.

- `congress_representatives`: a session's representatives, one document per (session,
  member) under that `_id`, registered by a cadre from the member directory: by member id, or
  all at once from the members' congress terms (`term_holders`).
- `congress_cosigns`: one co-signature per (proposal, representative), a `claim_once`.
- `congress_numbers`: the register numbers 1, 2, 3 … of a session (`NumberSeries`).
- `resolution_ballots`: one vote per representative and resolution: the ballot's `_id` is an
  HMAC token of (resolution, member), the ballot holds the choice and no voter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.events.congress.domain import CongressSession, Proposal, Resolution, in_office
from shared.aggregate import AggregateStore
from shared.claims import NumberSeries, claim_once
from shared.mongo import find_in
from shared.readmodels.member_directory import MemberDirectory

SESSIONS = "congress_sessions"
PROPOSALS = "proposals"
RESOLUTIONS = "resolutions"
SESSION_TOPIC = "events.congress"
PROPOSAL_TOPIC = "events.proposal"
RESOLUTION_TOPIC = "events.resolution"
SESSION_NOT_FOUND = ("congress.not_found", "未找到该次教代会")
PROPOSAL_NOT_FOUND = ("proposal.not_found", "未找到该提案")
RESOLUTION_NOT_FOUND = ("resolution.not_found", "未找到该决议")
REPRESENTATIVES = "congress_representatives"
COSIGNS = "congress_cosigns"
NUMBERS = "congress_numbers"
BALLOTS = "resolution_ballots"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[REPRESENTATIVES].create_index("session")
    await db[COSIGNS].create_index("proposal")
    await db[BALLOTS].create_index("resolution")


async def term_holders(
    directory: MemberDirectory, session: CongressSession
) -> list[dict[str, Any]]:
    """The active members of the session's campus (of every campus for a school-wide one)
    whose representative term covers the session's year, by member id."""
    # A term that starts after the year cannot cover it: the query narrows, `in_office`
    # decides (FerretDB 1.x answers `$elemMatch` on these arrays with nothing).
    query: dict[str, Any] = {
        "status": "active",
        "congress_terms.start_year": {"$lte": session.year},
    }
    if session.campus != "*":
        query["campus"] = session.campus
    found = directory.coll.find(query).sort([("_id", 1)])
    return [doc async for doc in found if in_office(doc.get("congress_terms") or [], session.year)]


class CongressBook:
    def __init__(
        self,
        sessions: AggregateStore[CongressSession],
        proposals: AggregateStore[Proposal],
        resolutions: AggregateStore[Resolution],
        key: bytes,
    ) -> None:
        self.sessions = sessions
        self.proposals = proposals
        self.resolutions = resolutions
        db = sessions.db
        self.representatives = db[REPRESENTATIVES]
        self.cosigns = db[COSIGNS]
        self.numbers = NumberSeries(db[NUMBERS])
        self.ballots = db[BALLOTS]
        self.key = hmac.new(key, b"gonghui/resolution-votes/v1", hashlib.sha256).digest()

    # -- representatives ----------------------------------------------------------------------

    async def register(self, session_id: str, member: dict[str, Any]) -> bool:
        doc = {
            "session": session_id,
            "member_id": member["_id"],
            "name": member.get("name", ""),
            "department": member.get("department", ""),
            "delegation": member.get("campus", ""),
        }
        return await claim_once(self.representatives, f"{session_id}:{member['_id']}", doc)

    async def representative(self, session_id: str, member_id: str) -> dict[str, Any] | None:
        return await self.representatives.find_one({"_id": f"{session_id}:{member_id}"})

    async def representatives_of(self, session_id: str) -> list[dict[str, Any]]:
        found = self.representatives.find({"session": session_id}).sort([("_id", 1)])
        return await found.to_list(length=5000)

    async def count_representatives(self, session_id: str) -> int:
        return await self.representatives.count_documents({"session": session_id})

    async def start_submission(self, proposal_id: str) -> bool:
        return await claim_once(self.numbers.coll, f"submit:{proposal_id}")

    async def end_submission(self, proposal_id: str) -> None:
        """Undo `start_submission` of a submission that failed (by its one claimer)."""
        await self.numbers.coll.delete_one({"_id": f"submit:{proposal_id}"})

    # -- co-signers ---------------------------------------------------------------------------

    async def cosign(self, proposal_id: str, rep: dict[str, Any]) -> bool:
        doc = {"proposal": proposal_id, "member_id": rep["member_id"], "name": rep["name"]}
        return await claim_once(self.cosigns, f"{proposal_id}:{rep['member_id']}", doc)

    async def cosigners(self, proposal_id: str) -> list[dict[str, Any]]:
        found = self.cosigns.find({"proposal": proposal_id}).sort([("claimed_at", 1)])
        return await found.to_list(length=500)

    async def cosigners_of(self, proposal_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {p: [] for p in proposal_ids}
        for doc in await find_in(self.cosigns, "proposal", proposal_ids):
            out.setdefault(doc["proposal"], []).append(doc["name"])
        return out

    # -- resolution votes ---------------------------------------------------------------------

    def _token(self, *parts: str) -> str:
        return hmac.new(self.key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()[:40]

    async def vote(self, resolution_id: str, member_id: str, choice: str) -> bool:
        """One vote per representative: the ballot's `_id` is the voter's token for this
        resolution (an HMAC, no member id), so the first insert wins under any concurrency;
        the ballot holds the choice and no voter, no time."""
        ballot = {"_id": self._token("voter", resolution_id, member_id)}
        try:
            await self.ballots.insert_one({**ballot, "resolution": resolution_id, "choice": choice})
        except DuplicateKeyError:
            return False
        return True

    async def has_voted(self, resolution_id: str, member_id: str) -> bool:
        token = self._token("voter", resolution_id, member_id)
        return await self.ballots.find_one({"_id": token}, {"_id": 1}) is not None

    async def count(self, resolution_id: str) -> Counter[str]:
        counts: Counter[str] = Counter()
        async for doc in self.ballots.find({"resolution": resolution_id}, {"choice": 1}):
            counts[doc["choice"]] += 1
        return counts

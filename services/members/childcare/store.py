"""The childcare survey's MongoDB access: rounds (an aggregate) and the members' answers.

An answer is an insert under `<round>:<member>#<revision>`: revision 1 is *the* answer (one
per member and round — two clicks on 「确认」 race for the same key and one wins); a member who
changes their children after answering and confirms again adds revision 2, and so on, so what
was confirmed when stays on record and nothing is ever updated.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.members.childcare.domain import Answer, Child, Round
from shared.aggregate import Actor, AggregateStore, AlreadyExists, to_bson
from shared.errors import Conflict

ROUNDS = "childcare_rounds"  # the list view; `childcare_rounds_changes` is the change log
TOPIC = "members.childcare"
NOT_FOUND = ("childcare.round_not_found", "未找到该入园入托统计")
ANSWERS = "childcare_answers"


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[ROUNDS].create_index([("campus", 1), ("survey_date", -1)])
    await db[ANSWERS].create_index([("round", 1), ("member", 1), ("revision", -1)])
    await db[ANSWERS].create_index([("round", 1), ("revision", 1)])


def answer_id(round_id: str, member_id: str, revision: int) -> str:
    return f"{round_id}:{member_id}#{revision:04d}"


def _answer(doc: dict[str, Any]) -> Answer:
    return Answer(
        round_id=doc["round"],
        member_id=doc["member"],
        campus=doc["campus"],
        revision=doc["revision"],
        member_version=doc["member_version"],
        at=doc["at"],
        children=[Child.model_validate(c) for c in doc.get("children", [])],
    )


class Rounds:
    """Rounds and answers as the use cases need them."""

    def __init__(self, store: AggregateStore[Round]) -> None:
        self.store = store
        self.answers: AsyncCollection = store.db[ANSWERS]

    async def add(self, found: Round, actor: Actor) -> Round:
        try:
            return await self.store.add(found, actor, "open")
        except AlreadyExists as exc:
            raise Conflict(
                "childcare.round_exists",
                f"校区「{found.campus}」{found.survey_date.isoformat()} 的入园入托统计已存在",
                round_id=found.id,
            ) from exc

    async def revision(self, round_id: str, member_id: str, revision: int) -> Answer | None:
        doc = await self.answers.find_one({"_id": answer_id(round_id, member_id, revision)})
        return _answer(doc) if doc else None

    async def of_member(self, round_id: str, member_id: str) -> list[Answer]:
        """A member's revisions in a round (a handful at most)."""
        found = self.answers.find({"round": round_id, "member": member_id})
        return [_answer(d) async for d in found]

    async def insert_answer(self, answer: Answer, actor: Actor) -> Answer | None:
        """Write a revision; None when that revision exists already (someone was quicker)."""
        doc = {
            "_id": answer_id(answer.round_id, answer.member_id, answer.revision),
            "round": answer.round_id,
            "member": answer.member_id,
            "campus": answer.campus,
            "revision": answer.revision,
            "at": answer.at,
            "by": actor.subject,
            "request": actor.request,
            "member_version": answer.member_version,
            "children": to_bson([c.model_dump() for c in answer.children]),
        }
        try:
            await self.answers.insert_one(doc)
        except DuplicateKeyError:
            return None
        return answer

    async def revisions(self, round_id: str) -> list[Answer]:
        return [_answer(d) async for d in self.answers.find({"round": round_id})]

    async def answered(self, round_id: str) -> list[str]:
        """Ids of the members who answered (their first revisions)."""
        found = self.answers.find({"round": round_id, "revision": 1}, {"member": 1})
        return [d["member"] async for d in found]

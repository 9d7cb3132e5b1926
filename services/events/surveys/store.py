"""Surveys' MongoDB access: the survey aggregate, and the answers as unique-key inserts.

One answer per member rests on the storage engine's unique key, never on a read-then-write:

- **Named** (实名): the member's answer is `<survey>:<member>#0001` in `survey_answers`; two
  answers at once both insert `#0001` and one wins. A changed answer (when the survey allows
  it) is the next version, `#0002` …, inserted — never updated — so two changes at once are
  one; the results read each member's latest version.
- **Anonymous** (匿名): the member's *mark* `<survey>:<token>` in `survey_marks` proves "already
  answered"; the token is HMAC-SHA256(voice secret, survey id + member id), one way, and the
  mark holds only the survey and the member's campus and department (for the response rate
  and the count). A failed answer write removes the mark again, so the member can retry.

An anonymous answer is not written next to its mark in the clear: on FerretDB/PostgreSQL the
mark and a row written right after it sit side by side in the table and in consecutive
transactions, so the storage's own order would pair them. While the survey is open the answer
waits in `survey_pending`, SEALED (`sealed.py`: its own key, padded to one size) under a
random id, with nothing but the survey id besides. At the close, `flush` opens the waiting
answers and inserts them into `survey_answers` all at once, in a random order, each under an
id derived one way from its pending id (no member, no token, no time, no campus), and only
then deletes the pending rows. Nothing needs the plaintext before the close: an anonymous
survey's results say only how many answered until then (`domain.results_disclosed`), and the
count is the marks'. The request runs under a fresh trace id, and no event is ever published
about an answer.

`flush` runs at the close (the scheduled job's, `close_early`) and before every read of a
closed anonymous survey's answers; any of them may run twice, or at once on two replicas, or
stop half-way: the ids are the same each time, a duplicate key means "already moved", and the
pending rows go only after their answers are in, so the next flush finishes what one left.
Why no answer is missed: an answer is accepted only while the survey is open (the phase is
checked before the write), every flush runs after the close moment, and a straggler — a
request that passed the check just before the close and wrote after a flush had read — is
still pending when the answers are next read, and that read flushes it first: `all_answers`
never runs on a closed anonymous survey without a flush before it (`handlers.results`). Its
mark was counted from the start.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.events.activities.eligibility import Person, refusal
from services.events.surveys.domain import ALL, Phase, Survey
from services.events.surveys.sealed import AnswerSeal
from shared.aggregate import AggregateStore
from shared.crypto import SealError
from shared.readmodels.member_directory import MemberDirectory
from shared.timeutil import utcnow_ms as utcnow

SURVEYS = "surveys"  # the list view; `surveys_changes` is the change log (the truth)
TOPIC = "events.survey"
NOT_FOUND = ("survey.not_found", "未找到该问卷")
ANSWERS = "survey_answers"
MARKS = "survey_marks"
PENDING = "survey_pending"  # sealed anonymous answers of open surveys, until the close

log = logging.getLogger(__name__)


async def setup_indexes(db: AsyncDatabase) -> None:
    await db[SURVEYS].create_index([("campus", 1), ("status", 1)])
    await db[ANSWERS].create_index([("survey", 1), ("member_id", 1)])
    await db[MARKS].create_index([("survey", 1)])
    await db[PENDING].create_index([("survey", 1)])


def one_way(secret: bytes, survey_id: str, member_id: str) -> str:
    """The member's token for one survey: proves "answered" without naming them."""
    message = f"survey:{survey_id}:{member_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def named_id(survey_id: str, member_id: str, version: int) -> str:
    return f"{survey_id}:{member_id}#{version:04d}"


class SurveyBook:
    """Surveys and their answers, as the use cases need them."""

    def __init__(self, store: AggregateStore[Survey], secret: bytes) -> None:
        self.store = store
        self.answers = store.db[ANSWERS]
        self.marks = store.db[MARKS]
        self.pending = store.db[PENDING]
        self._secret = secret
        self._seal = AnswerSeal(secret)

    # -- answering ---------------------------------------------------------------------------

    async def answer_named(
        self, survey: Survey, member: dict[str, Any], answers: dict[str, Any], version: int = 1
    ) -> bool:
        """Insert the member's answer as `version`; False when that version exists."""
        doc = {
            "_id": named_id(survey.id, member["_id"], version),
            "survey": survey.id,
            "member_id": member["_id"],
            "version": version,
            "campus": member.get("campus", ""),
            "department": member.get("department", ""),
            "answers": answers,
            "at": utcnow(),
        }
        try:
            await self.answers.insert_one(doc)
            return True
        except DuplicateKeyError:
            return False

    async def answer_anonymous(
        self, survey: Survey, member: dict[str, Any], answers: dict[str, Any]
    ) -> bool:
        """Mark the member as answered and put the answer, sealed, with the survey's pending
        ones (until the close); False when marked before."""
        mark = {
            "_id": f"{survey.id}:{one_way(self._secret, survey.id, member['_id'])}",
            "survey": survey.id,
            "campus": member.get("campus", ""),
            "department": member.get("department", ""),
        }
        try:
            await self.marks.insert_one(mark)
        except DuplicateKeyError:
            return False
        pending_id = uuid.uuid4().hex
        try:
            sealed = self._seal.seal(survey, pending_id, answers)
            await self.pending.insert_one(
                {"_id": pending_id, "survey": survey.id, "sealed": sealed}
            )
        except BaseException:
            await self.marks.delete_one({"_id": mark["_id"]})  # the answer is not there: retry
            raise
        return True

    async def flush(self, survey: Survey) -> int:
        """Move a closed anonymous survey's pending answers into `survey_answers`, opened, in
        a random order and at once; how many this call inserted (a concurrent or earlier
        flush's are there already). Does nothing while the survey is open."""
        if not survey.anonymous or survey.phase(utcnow()) is not Phase.closed:
            return 0
        waiting = await self.pending.find({"survey": survey.id}).to_list(length=None)
        moved: list[dict[str, Any]] = []
        opened: list[str] = []
        for row in waiting:
            try:
                answers = self._seal.open(survey.id, row["_id"], row["sealed"])
            except SealError:
                continue  # another voice secret: left waiting, in case the old one comes back
            moved.append(
                {"_id": self._seal.settled_id(row["_id"]), "survey": survey.id, "answers": answers}
            )
            opened.append(row["_id"])
        if len(moved) < len(waiting):
            log.warning(
                "%d sealed answers of survey %s do not open (voice secret changed?)",
                len(waiting) - len(moved),
                survey.id,
            )
        secrets.SystemRandom().shuffle(moved)
        inserted = await _insert_new(self.answers, moved)
        if opened:  # only once their answers are in: a crash before leaves them for the next
            await self.pending.delete_many({"_id": {"$in": opened}})
        return inserted

    async def latest_named(self, survey_id: str, member_id: str) -> dict[str, Any] | None:
        found = self.answers.find({"survey": survey_id, "member_id": member_id})
        docs = await found.to_list(length=1000)
        return max(docs, key=lambda d: d["version"]) if docs else None

    async def answered(self, survey: Survey, member_id: str) -> bool:
        if survey.anonymous:
            token = one_way(self._secret, survey.id, member_id)
            return await self.marks.find_one({"_id": f"{survey.id}:{token}"}) is not None
        return await self.latest_named(survey.id, member_id) is not None

    # -- reading for results -----------------------------------------------------------------

    async def _named_latest(self, survey_id: str) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        async for doc in self.answers.find({"survey": survey_id}):
            member = doc.get("member_id")
            if member and (member not in latest or doc["version"] > latest[member]["version"]):
                latest[member] = doc
        return list(latest.values())

    async def all_answers(self, survey: Survey) -> list[dict[str, Any]]:
        """Every member's answers (named: each one's latest version)."""
        if survey.anonymous:
            found = self.answers.find({"survey": survey.id}, {"answers": 1})
            return [d["answers"] async for d in found]
        return [d["answers"] for d in await self._named_latest(survey.id)]

    async def answered_groups(self, survey: Survey) -> list[tuple[str, str]]:
        """(campus, department) of every member who answered."""
        if survey.anonymous:
            found = self.marks.find({"survey": survey.id}, {"campus": 1, "department": 1})
            return [(d.get("campus", ""), d.get("department", "")) async for d in found]
        return [(d["campus"], d["department"]) for d in await self._named_latest(survey.id)]

    async def count(self, survey: Survey) -> int:
        if survey.anonymous:
            return await self.marks.count_documents({"survey": survey.id})
        return len(await self._named_latest(survey.id))

    async def named_rows(self, survey: Survey) -> list[dict[str, Any]]:
        """A named survey's answers with who gave them (the cadre's export)."""
        return sorted(await self._named_latest(survey.id), key=lambda d: d["member_id"])


async def _insert_new(coll: AsyncCollection, docs: Sequence[dict[str, Any]]) -> int:
    """Insert the documents not there yet (by id); how many this call inserted."""
    if not docs:
        return 0
    try:
        await coll.insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return len(docs) - len(errors)
    return len(docs)


async def audience_of(survey: Survey, directory: MemberDirectory) -> list[dict[str, Any]]:
    """The members the survey asks: its scope's members who pass its audience rule."""
    query: dict[str, Any] = {"status": {"$in": list(survey.audience.statuses)}}
    campuses = survey.audience.campuses or ([] if survey.campus == ALL else [survey.campus])
    if len(campuses) == 1:
        query["campus"] = campuses[0]
    elif campuses:
        query["campus"] = {"$in": campuses}
    found = directory.coll.find(query)
    return [doc async for doc in found if refusal(survey, Person.of(doc)) is None]


def groups(members: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m.get("campus", ""), m.get("department", "")) for m in members]

"""Pure rules of the suggestion box (意见建议): a member writes, under their name or not; a
cadre forwards it to a department and replies; the writer reads the reply.

An anonymous suggestion holds no member id. Its `writer_token` — HMAC(voice secret,
suggestion id + member id), one way — lets the service recognise the writer when they come
to read the reply, and nothing else: it is never shown, never in the history, never in an
event, and a different suggestion of the same writer has a different token, so not even two
suggestions can be tied together.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pydantic import BaseModel, Field

from shared.aggregate import Aggregate
from shared.errors import Conflict
from shared.events.voice import SuggestionForwarded, SuggestionReplied, SuggestionSubmitted
from shared.labels import Labelled
from shared.text import VISIBLE_TEXT, normalize

SUGGESTION_ID = r"^sg-[0-9a-f]{12}$"
TEXT_BLOCK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\S[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class SuggestionStatus(Labelled):
    submitted = "submitted", "待处理"
    forwarded = "forwarded", "已转交"
    replied = "replied", "已答复"


class NewSuggestion(BaseModel):
    """Command: a suggestion for the box."""

    title: str = Field(max_length=60, pattern=VISIBLE_TEXT, description="标题")
    body: str = Field(max_length=2000, pattern=TEXT_BLOCK, description="内容")
    anonymous: bool = Field(False, description="匿名：工会干部看不到是谁写的")


class Forward(BaseModel):
    department: str = Field(max_length=64, pattern=VISIBLE_TEXT, description="转交部门")
    note: str = Field("", max_length=500, description="转交说明")


class ReplyIn(BaseModel):
    text: str = Field(max_length=2000, pattern=TEXT_BLOCK, description="答复内容")


class Reply(BaseModel):
    text: str
    at: datetime


def writer_token(secret: bytes, suggestion_id: str, member_id: str) -> str:
    message = f"suggestion:{suggestion_id}:{member_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


class Suggestion(Aggregate):
    private_fields = frozenset({"writer_token"})

    title: str
    body: str
    anonymous: bool
    member_id: str | None = None  # the writer, only when named
    writer_token: str | None = None  # the anonymous writer's one-way token
    department: str | None = None
    forward_note: str = ""
    replies: list[Reply] = Field(default_factory=list)
    status: SuggestionStatus = SuggestionStatus.submitted
    submitted_at: datetime

    @property
    def suggestion_id(self) -> str:
        return self.id

    def written_by(self, secret: bytes, member_id: str) -> bool:
        if not self.anonymous:
            return self.member_id == member_id
        token = writer_token(secret, self.id, member_id)
        return self.writer_token is not None and hmac.compare_digest(self.writer_token, token)

    def forward(self, cmd: Forward) -> None:
        department = normalize(cmd.department)
        if self.department == department:
            return
        self.department = department
        self.forward_note = cmd.note.strip()
        if self.status is SuggestionStatus.submitted:
            self.status = SuggestionStatus.forwarded
        self.record(SuggestionForwarded.of(self, department=department))

    def reply(self, cmd: ReplyIn, now: datetime) -> None:
        text = cmd.text.strip()
        if self.replies and self.replies[-1].text == text:
            raise Conflict("suggestion.same_reply", "这条答复已经发出")
        self.replies.append(Reply(text=text, at=now))
        self.status = SuggestionStatus.replied
        self.record(SuggestionReplied.of(self))


def submit(
    suggestion_id: str,
    campus: str,
    cmd: NewSuggestion,
    member_id: str,
    secret: bytes,
    now: datetime,
) -> Suggestion:
    anonymous = cmd.anonymous
    found = Suggestion(
        id=suggestion_id,
        campus=campus,
        title=normalize(cmd.title),
        body=cmd.body.strip(),
        anonymous=anonymous,
        member_id=None if anonymous else member_id,
        writer_token=writer_token(secret, suggestion_id, member_id) if anonymous else None,
        submitted_at=now,
    )
    found.record(SuggestionSubmitted.of(found))
    return found

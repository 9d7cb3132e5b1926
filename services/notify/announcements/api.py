"""Announcement routes (通知公告): a cadre posts one to a segment of their campus, previews it
first, and reads how many got and read it per campus and department, and who has not read a
mandatory one."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import AwareDatetime, BaseModel, Field, StrictBool

from services.notify.announcements.domain import (
    Announcement,
    AnnouncementState,
    Segment,
    Statistics,
)
from services.notify.announcements.fanout import AnnouncementFanout
from services.notify.announcements.store import Announcements, of_doc
from shared.auth import CurrentUser
from shared.errors import Conflict, Invalid, NotFound
from shared.principal import Principal, Role
from shared.problems import PROBLEM_RESPONSES
from shared.public import LocalDatetime, PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.timeutil import utcnow
from shared.vocabulary.members import Gender, UnionRole

AnnouncementsDep = Annotated[Announcements, Depends(provided("announcements"))]
FanoutDep = Annotated[AnnouncementFanout, Depends(provided("announcement_fanout"))]

router = APIRouter(
    prefix="/announcements", responses=PROBLEM_RESPONSES, tags=["通知公告 announcements"]
)

# The preview lives beside the collection: under it, `/announcements/preview` would also
# match `GET /announcements/{announcement_id}`.
preview_router = APIRouter(responses=PROBLEM_RESPONSES, tags=["通知公告 announcements"])

AnnouncementId = Annotated[str, Path(pattern=r"^ann-[0-9a-f]{12}$", description="公告编号")]
Name = Annotated[str, Field(min_length=1, max_length=60, pattern=VISIBLE_TEXT)]
# Text with line breaks, no other control characters (PostgreSQL's jsonb holds no NUL).
BODY_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class AnnouncementBody(BaseModel):
    campus: str = Field(
        pattern=r"^(\*|[a-z][a-z0-9-]{0,31})$", description="校区代码；* 为全校（仅全校管理员）"
    )
    title: str = Field(min_length=1, max_length=100, pattern=VISIBLE_TEXT, description="标题")
    body: str = Field(min_length=1, max_length=4000, pattern=BODY_TEXT, description="正文")
    departments: list[Name] = Field(default_factory=list, max_length=100, description="部门")
    gender: Gender | None = Field(None, description="性别")
    roles: list[UnionRole] = Field(default_factory=list, max_length=10, description="工会角色")
    small_groups: list[Name] = Field(default_factory=list, max_length=100, description="小组")
    mandatory: StrictBool = Field(False, description="强制送达：不受会员通知设置限制")
    expires_at: AwareDatetime | None = Field(None, description="过期时间：此后不再送达")


class SegmentPublic(BaseModel):
    departments: list[str]
    gender: str | None
    roles: list[str]
    small_groups: list[str]
    label: str = Field(description="发送范围（中文）")


class TallyPublic(PublicModel):
    key: str = Field(description="校区代码或部门")
    delivered: int = Field(description="已送达")
    read: int = Field(description="已读")


class AnnouncementPublic(PublicModel):
    id: str
    campus: str
    title: str
    body: str
    segment: SegmentPublic
    mandatory: bool
    expires_at: LocalDatetime | None = Field(description="北京时间")
    posted_by: str
    posted_at: LocalDatetime = Field(description="北京时间")
    state: AnnouncementState
    state_label: str


class AnnouncementDetail(AnnouncementPublic):
    delivered: int = Field(description="已送达站内信的人数")
    read: int = Field(description="已读人数")
    campuses: list[TallyPublic] = Field(description="各校区")
    departments: list[TallyPublic] = Field(description="各部门")


class CampusWordingPublic(BaseModel):
    campus: str
    title: str
    body: str


class PreviewPublic(BaseModel):
    title: str
    body: str
    segment: SegmentPublic
    recipients: int = Field(description="当前会送达的会员人数")
    campus_wordings: list[CampusWordingPublic] = Field(
        default_factory=list,
        description="有本校区通知模板措辞的校区：该校区会员看到的标题和正文（姓名以示例代替）",
    )


class UnreadPublic(BaseModel):
    member_id: str
    name: str
    campus: str
    department: str


def _segment(body: AnnouncementBody) -> Segment:
    return Segment(
        tuple(dict.fromkeys(d.strip() for d in body.departments if d.strip())),
        body.gender.value if body.gender else None,
        tuple(dict.fromkeys(r.value for r in body.roles)),
        tuple(dict.fromkeys(g.strip() for g in body.small_groups if g.strip())),
    )


def _checked(body: AnnouncementBody, user: Principal) -> tuple[str, str, Segment]:
    user.require(Role.cadre, campus=body.campus)
    title, text = body.title.strip(), body.body.strip()
    if not title or not text:
        raise Invalid("announcement.empty", "标题和正文不能为空")
    if body.expires_at is not None and body.expires_at <= utcnow():
        raise Invalid("announcement.expired", "过期时间必须晚于现在")
    return title, text, _segment(body)


def _segment_public(s: Segment) -> SegmentPublic:
    return SegmentPublic(**s.to_doc(), label=s.label)


def public(a: Announcement) -> AnnouncementPublic:
    return AnnouncementPublic.of(a, segment=_segment_public(a.segment))


def detail(a: Announcement, stats: Statistics) -> AnnouncementDetail:
    return AnnouncementDetail.of(
        a,
        segment=_segment_public(a.segment),
        delivered=stats.delivered,
        read=stats.read,
        campuses=[TallyPublic.of(t) for t in stats.campuses],
        departments=[TallyPublic.of(t) for t in stats.departments],
    )


async def _found(
    announcements: Announcements, announcement_id: str, user: Principal
) -> Announcement:
    user.require(Role.cadre)
    doc = await announcements.get(announcement_id)
    if doc is None or not user.can_access(doc["campus"]):
        raise NotFound("announcement.not_found", "未找到该通知公告", id=announcement_id)
    return of_doc(doc)


@preview_router.post("/announcement-previews")
async def preview(body: AnnouncementBody, fanout: FanoutDep, user: CurrentUser) -> PreviewPublic:
    """What the notice will look like and how many it reaches now, nothing sent; role: cadre
    of its campus."""
    title, text, segment = _checked(body, user)
    recipients = await fanout.count(segment, body.campus)
    worded = await fanout.campus_wordings(body.campus, title, text)
    return PreviewPublic(
        title=title,
        body=text,
        segment=_segment_public(segment),
        recipients=recipients,
        campus_wordings=[CampusWordingPublic(campus=c, title=t, body=b) for c, t, b in worded],
    )


@router.post("", status_code=status.HTTP_201_CREATED)
async def post_announcement(
    body: AnnouncementBody, announcements: AnnouncementsDep, user: CurrentUser
) -> AnnouncementPublic:
    """Post a notice to a segment of a campus; it is delivered in batches right after;
    role: cadre of its campus (the whole school: a cadre over every campus)."""
    title, text, segment = _checked(body, user)
    made = Announcement(
        id=f"ann-{uuid.uuid4().hex[:12]}",
        campus=body.campus,
        title=title,
        body=text,
        segment=segment,
        mandatory=body.mandatory,
        expires_at=body.expires_at,
        posted_by=user.subject,
        posted_at=utcnow(),
    )
    await announcements.add(made)
    return public(made)


@router.get("")
async def list_announcements(
    announcements: AnnouncementsDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[AnnouncementPublic]:
    """Notices posted on the caller's campuses, newest first; role: cadre."""
    user.require(Role.cadre)
    docs = await announcements.listing(user.campus_filter(), limit, offset)
    return [public(of_doc(d)) for d in docs]


@router.get("/{announcement_id}")
async def get_announcement(
    announcement_id: AnnouncementId, announcements: AnnouncementsDep, user: CurrentUser
) -> AnnouncementDetail:
    """One notice with its delivered and read counts per campus and department (the caller's
    campuses); role: cadre of its campus."""
    found = await _found(announcements, announcement_id, user)
    stats = await announcements.statistics(found.id, user.campus_filter())
    return detail(found, stats)


@router.get("/{announcement_id}/unread")
async def unread(
    announcement_id: AnnouncementId,
    announcements: AnnouncementsDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> list[UnreadPublic]:
    """Who has not read a mandatory notice yet (the caller's campuses); role: cadre of its
    campus."""
    found = await _found(announcements, announcement_id, user)
    if not found.mandatory:
        raise Conflict("announcement.not_mandatory", "只有强制送达的通知才列出未读人员")
    docs = await announcements.unread(found.id, user.campus_filter(), limit, offset)
    return [_unread(d) for d in docs]


def _unread(d: dict[str, Any]) -> UnreadPublic:
    return UnreadPublic(
        member_id=d["member_id"],
        name=(d.get("variables") or {}).get("name") or "",
        campus=d["campus"],
        department=d.get("department") or "",
    )

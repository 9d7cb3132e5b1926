"""Announcements (通知公告), pure: a cadre's message to a segment of members, and what it reaches.

A notice goes to the active members of one campus (or, for a caller over every campus, the
whole school) that its segment names: departments, gender, union roles, small groups; an
empty segment is every member. A mandatory notice reaches every channel of the notice
whatever a member turned off; one with an expiry reaches nobody new after it.

Delivery rests on notify's delivery ids: one inbox message and one delivery per (notice,
recipient, channel), so a fan-out resumed after a crash, or run by two replicas, adds nothing
twice (`fanout.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify.preferences.domain import Preferences
from services.notify.routing.domain import Category, ChannelName
from shared.labels import Labelled
from shared.vocabulary.members import Gender, UnionRole

# The channels a notice uses; a member's settings for 通知公告 choose among them.
CHANNELS = (ChannelName.inbox, ChannelName.email, ChannelName.wecom)
CATEGORY = Category.announcement
TEMPLATE = "announcement"
EVENT_TYPE = "notify.announcement"  # what the deliveries' `event_type` says (no catalogued event)


class AnnouncementState(Labelled):
    sending = "sending", "发送中"
    sent = "sent", "已送达"
    expired = "expired", "已过期"


@dataclass(frozen=True)
class Segment:
    """Who in the campus: every list empty (and no gender) is every active member."""

    departments: tuple[str, ...] = ()
    gender: str | None = None
    roles: tuple[str, ...] = ()
    small_groups: tuple[str, ...] = ()

    def rule(self, campus: str) -> dict[str, Any]:
        """The eligibility rule `routing.audience.eligible` applies to the member directory."""
        return {
            "campuses": [] if campus == "*" else [campus],
            "departments": list(self.departments),
            "gender": self.gender,
            "roles": list(self.roles),
            "small_groups": list(self.small_groups),
            "statuses": ["active"],
        }

    @property
    def label(self) -> str:
        parts = []
        if self.departments:
            parts.append("部门：" + "、".join(self.departments))
        if self.gender:
            parts.append("性别：" + Gender.label_of(self.gender))
        if self.roles:
            parts.append("角色：" + "、".join(UnionRole.label_of(r) for r in self.roles))
        if self.small_groups:
            parts.append("小组：" + "、".join(self.small_groups))
        return "；".join(parts) or "全体会员"

    def to_doc(self) -> dict[str, Any]:
        return {
            "departments": list(self.departments),
            "gender": self.gender,
            "roles": list(self.roles),
            "small_groups": list(self.small_groups),
        }

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Segment:
        return cls(
            tuple(doc.get("departments") or ()),
            doc.get("gender"),
            tuple(doc.get("roles") or ()),
            tuple(doc.get("small_groups") or ()),
        )


@dataclass(frozen=True)
class Announcement:
    id: str
    campus: str  # a campus code, or "*" (the whole school)
    title: str
    body: str
    segment: Segment
    mandatory: bool
    expires_at: datetime | None  # UTC
    posted_by: str
    posted_at: datetime  # UTC
    state: AnnouncementState = AnnouncementState.sending

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def channels_of(announcement: Announcement, prefs: Preferences) -> list[ChannelName]:
    """The notice's channels a member gets: all of them when it is mandatory."""
    if announcement.mandatory:
        return list(CHANNELS)
    wanted = prefs.channels.get(CATEGORY.value)
    if wanted is None:
        return list(CHANNELS)
    return [c for c in CHANNELS if c.value in wanted]


@dataclass
class Tally:
    """Delivered and read counts of one group (a campus or a department)."""

    key: str
    delivered: int = 0
    read: int = 0

    @property
    def rate(self) -> float:
        return self.read / self.delivered if self.delivered else 0.0


@dataclass
class Statistics:
    delivered: int = 0
    read: int = 0
    campuses: list[Tally] = field(default_factory=list)
    departments: list[Tally] = field(default_factory=list)


def tally(rows: Iterable[Mapping[str, Any]]) -> Statistics:
    """Inbox deliveries (campus, department, status; `n` of them when counted already, one
    when not) → counts per campus and department."""
    stats = Statistics()
    campuses: dict[str, Tally] = {}
    departments: dict[str, Tally] = {}
    for row in rows:
        n = int(row.get("n", 1))
        read = n if row.get("status") == "read" else 0
        stats.delivered += n
        stats.read += read
        for groups, key in (
            (campuses, row.get("campus") or ""),
            (departments, row.get("department") or "未填部门"),
        ):
            group = groups.setdefault(key, Tally(key))
            group.delivered += n
            group.read += read
    stats.campuses = sorted(campuses.values(), key=lambda t: t.key)
    stats.departments = sorted(departments.values(), key=lambda t: t.key)
    return stats

"""Pure notice rules (通知): which message an event becomes, in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class WelcomeMember:
    """Command: greet a member who just joined the union."""

    member_id: str
    name: str
    campus: str
    joined_on: date


@dataclass(frozen=True)
class Notice:
    id: str
    member_id: str
    campus: str
    kind: str
    title: str
    body: str


def welcome_notice(cmd: WelcomeMember) -> Notice:
    """One welcome per joining: keyed by member and date, so a redelivery (or the deprecated
    v1 event next to v2) is a no-op, while a member who re-joins later is welcomed again."""
    joined = f"{cmd.joined_on.year}年{cmd.joined_on.month}月{cmd.joined_on.day}日"
    return Notice(
        id=f"welcome:{cmd.member_id}:{cmd.joined_on.isoformat()}",
        member_id=cmd.member_id,
        campus=cmd.campus,
        kind="welcome",
        title="欢迎加入学校工会",
        body=(
            f"{cmd.name}，您好！您已于{joined}成为学校工会会员。"
            "今后的活动报名、节日福利、慰问和通知都会在这里告诉您。"
        ),
    )

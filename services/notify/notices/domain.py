"""Pure notice rules (通知): which message an event becomes, in Chinese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.timeutil import SHANGHAI


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


@dataclass(frozen=True)
class MailLoginLink:
    """Command: mail a member the one-time login link they asked for."""

    member_id: str
    campus: str
    url: str
    expires_at: datetime  # UTC


def login_link_notice(cmd: MailLoginLink, name: str, link_id: str) -> Notice:
    """The e-mail with the link. Never put in the inbox: whoever reads the inbox is signed in
    already, and the link is a credential. `link_id` (the event id) keys the delivery."""
    local = cmd.expires_at.astimezone(SHANGHAI)
    return Notice(
        id=f"login-link:{link_id}",
        member_id=cmd.member_id,
        campus=cmd.campus,
        kind="login_link",
        title="工会平台登录链接",
        body=(
            f"{name}，您好！您申请了工会平台的一次性登录链接：\n\n{cmd.url}\n\n"
            f"链接只能使用一次，{local:%H:%M}（北京时间）前有效。登录后可设置新密码。"
            "如果不是您本人申请，请忽略本邮件，您的账号不受影响。"
        ),
    )


@dataclass(frozen=True)
class ConfirmEmail:
    """Command: mail the confirmation link to a new address, and tell the old one."""

    member_id: str
    campus: str
    name: str
    to: str  # the new, pending address
    url: str
    expires_at: datetime  # UTC


def confirm_email_notice(cmd: ConfirmEmail, cause: str) -> Notice:
    """The link to the new address. Never in the inbox: it is half of a credential."""
    local = cmd.expires_at.astimezone(SHANGHAI)
    return Notice(
        id=f"email-confirm:{cause}",
        member_id=cmd.member_id,
        campus=cmd.campus,
        kind="email_confirm",
        title="请确认您在工会平台的新邮箱",
        body=(
            f"{cmd.name}，您好！工会平台上您的邮箱被改为本地址。请先登录工会平台，"
            f"再打开下面的链接确认：\n\n{cmd.url}\n\n"
            f"链接只能使用一次，{local:%m月%d日 %H:%M}（北京时间）前有效。确认之前，"
            "登录链接和通知仍只发往原来的邮箱。如果不是您本人的邮箱，请忽略本邮件。"
        ),
    )


def email_changing_notice(cmd: ConfirmEmail, masked_to: str, cause: str) -> Notice:
    """To the old address: someone set a new one (the member may not know)."""
    return Notice(
        id=f"email-changing:{cause}",
        member_id=cmd.member_id,
        campus=cmd.campus,
        kind="email_changing",
        title="您在工会平台的邮箱正在更改",
        body=(
            f"{cmd.name}，您好！有人把您在工会平台的邮箱改为 {masked_to}，"
            "该地址须由您本人登录后确认才会生效。如果不是您本人的操作，请联系所在校区的工会干部。"
        ),
    )

"""A member's notification settings (我的通知设置), and the pure rules that apply them.

- Channels per category: a member may turn channels off for a category; a mandatory route
  ignores that (a notice the union must be sure everybody gets).
- Quiet hours (免打扰, default 22:00–07:00 Asia/Shanghai) defer WeCom and SMS to the end of
  the quiet period; the inbox and e-mail are never deferred (they do not ring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from services.notify.routing.domain import Category, ChannelName, NotifyRoute
from shared.timeutil import SHANGHAI

DEFERRED_BY_QUIET_HOURS = (ChannelName.wecom, ChannelName.sms)


@dataclass(frozen=True)
class QuietHours:
    enabled: bool = True
    start: time = time(22, 0)
    end: time = time(7, 0)

    def contains(self, local: time) -> bool:
        if not self.enabled or self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def ends_after(self, now: datetime) -> datetime | None:
        """When a message that rings, sent at `now`, may go out: None if now is fine."""
        local = now.astimezone(SHANGHAI)
        if not self.contains(local.time().replace(tzinfo=None)):
            return None
        end = datetime.combine(local.date(), self.end, SHANGHAI)
        if end <= local:
            end += timedelta(days=1)
        return end.astimezone(now.tzinfo)


@dataclass(frozen=True)
class Preferences:
    # category → the channels the member wants; a category not named: every channel.
    channels: Mapping[str, Sequence[str]] = field(default_factory=dict)
    quiet: QuietHours = QuietHours()


def channels_for(route: NotifyRoute, prefs: Preferences) -> list[ChannelName]:
    """The route's channels the member receives: all of them when the route is mandatory."""
    if route.mandatory:
        return list(route.channels)
    wanted = prefs.channels.get(route.category.value)
    if wanted is None:
        return list(route.channels)
    return [c for c in route.channels if c.value in wanted]


def send_after(channel: ChannelName, prefs: Preferences, now: datetime) -> datetime:
    """When a delivery on `channel` meant for `now` may go out: when it is queued, and again
    in the delivery worker for every later time it sets (a retry, an outage's wait) and just
    before it sends. Mandatory or not: a mandatory route overrides opt-outs, not quiet hours."""
    if channel in DEFERRED_BY_QUIET_HOURS:
        return prefs.quiet.ends_after(now) or now
    return now


def categories() -> dict[str, str]:
    return Category.labels()

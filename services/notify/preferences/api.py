"""My notification settings (我的通知设置): channels per category and quiet hours."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StrictBool

from services.notify.preferences.domain import Preferences, QuietHours
from services.notify.preferences.store import PreferenceStore
from services.notify.routing.domain import Category, ChannelName
from shared.auth import CurrentUser
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided

PreferencesDep = Annotated[PreferenceStore, Depends(provided("preferences"))]

router = APIRouter(prefix="/me", responses=PROBLEM_RESPONSES, tags=["通知设置 preferences"])

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class QuietHoursBody(BaseModel):
    enabled: StrictBool = Field(True, description="是否开启免打扰")
    start: str = Field("22:00", pattern=HHMM, description="开始（北京时间 HH:MM）")
    end: str = Field("07:00", pattern=HHMM, description="结束（北京时间 HH:MM）")


class PreferencesBody(BaseModel):
    channels: dict[Category, list[ChannelName]] = Field(
        default_factory=dict,
        max_length=len(Category),
        description="每类通知接收的渠道；未列出的类别：全部渠道。强制通知不受此限制",
    )
    quiet_hours: QuietHoursBody = Field(default_factory=QuietHoursBody)


class PreferencesPublic(PreferencesBody):
    categories: dict[str, str] = Field(description="通知类别及名称")
    channel_names: dict[str, str] = Field(description="渠道及名称")


def _hhmm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def public(prefs: Preferences) -> PreferencesPublic:
    return PreferencesPublic(
        channels={Category(k): [ChannelName(c) for c in v] for k, v in prefs.channels.items()},
        quiet_hours=QuietHoursBody(
            enabled=prefs.quiet.enabled,
            start=f"{prefs.quiet.start:%H:%M}",
            end=f"{prefs.quiet.end:%H:%M}",
        ),
        categories=Category.labels(),
        channel_names=ChannelName.labels(),
    )


@router.get("/notification-settings")
async def my_settings(store: PreferencesDep, user: CurrentUser) -> PreferencesPublic:
    """The caller's own notification settings; role: any signed-in member."""
    return public(await store.get(user.subject))


@router.put("/notification-settings")
async def save_my_settings(
    body: PreferencesBody, store: PreferencesDep, user: CurrentUser
) -> PreferencesPublic:
    """Save the caller's own notification settings; role: any signed-in member."""
    prefs = Preferences(
        channels={k.value: sorted({c.value for c in v}) for k, v in body.channels.items()},
        quiet=QuietHours(
            body.quiet_hours.enabled, _hhmm(body.quiet_hours.start), _hhmm(body.quiet_hours.end)
        ),
    )
    await store.save(user.subject, prefs)
    return public(prefs)

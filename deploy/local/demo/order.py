"""The demo seeders in the order they must run: one table for `make run` (the launcher) and
`python -m deploy.local.demo`.

The order is the data's: members before anything that names them; the books (budgets,
incomes) before the festival plans and condolence cases they pay for. Each seeder answers
(added, already there), so running the table twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from deploy.local.demo import (
    care,
    events,
    funds,
    members,
    notices,
    preferences,
    voice,
    welfare_exams,
    welfare_plans,
)


@dataclass(frozen=True)
class Seeder:
    label: str  # the line printed: 中文 / English
    service: str  # whose URL the seeder takes
    seed: Callable[[str], Coroutine[Any, Any, tuple[int, int]]]


SEEDERS: tuple[Seeder, ...] = (
    Seeder("演示会员 demo members", "members", members.seed),
    Seeder("演示活动 demo activities", "events", events.seed),
    # a drive held today, its donors checked in (welfare raises their cases by Kafka)
    Seeder("演示献血签到 demo blood-drive donors", "events", events.seed_donors),
    Seeder("演示问卷与意见箱 demo survey, suggestions", "events", voice.seed_surveys),
    Seeder("演示评选与教代会 demo campaign, congress", "events", voice.seed_congress),
    # budgets, incomes, payments and a reversal (dues income follows by Kafka)
    Seeder("演示经费 demo funds", "welfare", funds.seed),
    Seeder("演示福利方案 demo welfare plans", "welfare", welfare_plans.seed),
    Seeder("演示体检与互助保障 demo exams, mutual aid", "welfare", welfare_exams.seed),
    Seeder("演示慰问 demo condolence cases", "welfare", care.seed),
    Seeder("演示通知公告 demo notices", "notify", notices.seed),
    Seeder("演示通知设置 demo notification settings", "notify", preferences.seed),
)


def line(seeder: Seeder, added: int, existing: int) -> str:
    return f"{seeder.label}: {added} added, {existing} already there"

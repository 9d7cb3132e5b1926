"""Jinja filters: times in Asia/Shanghai, the way Chinese pages write them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from services.web.org import Org
from shared.parsing import fen_to_yuan
from shared.timeutil import SHANGHAI

WEEKDAYS = "一二三四五六日"


def moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI) if value.tzinfo else value.replace(tzinfo=SHANGHAI)
    return None


def when(value: Any) -> str:
    """3月20日（周五）15:00"""
    m = moment(value)
    if m is None:
        return ""
    return f"{m.month}月{m.day}日（周{WEEKDAYS[m.weekday()]}）{m:%H:%M}"


def full(value: Any) -> str:
    """2027年3月20日 15:00"""
    m = moment(value)
    return f"{m.year}年{m.month}月{m.day}日 {m:%H:%M}" if m else ""


def clock(value: Any) -> str:
    m = moment(value)
    return f"{m:%H:%M}" if m else ""


def day(value: Any) -> str:
    if value is None or value == "":
        return ""
    d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{d.year}年{d.month}月{d.day}日"


def month_of(value: Any) -> str:
    m = moment(value)
    return f"{m.year}年{m.month}月" if m else "时间未定"


def yuan(fen: Any) -> str:
    return "" if fen is None else fen_to_yuan(int(fen))


@pass_context
def campus(context: Context, code: Any) -> str:
    """A campus code as its name ("*": 全校), from the org the page asked for (visit.org())."""
    org = context.get("org")
    return (org if isinstance(org, Org) else Org()).campus(code)


@pass_context
def named(context: Context, text: Any, names: Any) -> str:
    """An API sentence naming campuses or small groups by code, with their names."""
    org = context.get("org")
    return (org if isinstance(org, Org) else Org()).named(str(text or ""), names)


def install(env: Environment) -> None:
    env.filters.update(when=when, full=full, clock=clock, day=day, month_of=month_of, yuan=yuan)
    env.filters.update(campus=campus, named=named)

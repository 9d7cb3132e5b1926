"""Campus and small-group names for the pages: the APIs answer codes, people read names.

The organisation changes a few times a year, and every signed-in user may read it (members'
GET /campuses), so one copy serves every visitor for a minute. When members cannot answer,
the last copy (or, before the first, the codes themselves) keeps the page up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.web.backend import ApiError

TTL_SECONDS = 60.0
SCHOOL = "全校"  # the scope "*": the whole school


@dataclass(frozen=True)
class Org:
    """The campuses as members answered them, by code."""

    campuses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, answer: list[dict[str, Any]]) -> Org:
        return cls({c["code"]: c for c in answer})

    def campus(self, code: str | None) -> str:
        """A campus's name; "*" is the whole school; an unknown code is shown as it is."""
        if code is None or code == "":
            return ""
        if code == "*":
            return SCHOOL
        found = self.campuses.get(code)
        return str(found["name"]) if found else code

    def small_group(self, code: str) -> str:
        for campus in self.campuses.values():
            for group in campus.get("small_groups") or ():
                if group.get("code") == code:
                    return str(group.get("name") or code)
        return code

    def names(self, rule: str, codes: list[str]) -> str:
        """The names of campus or small-group codes, as a Chinese list (、)."""
        name = self.campus if rule == "campus" else self.small_group
        return "、".join(name(c) for c in codes)

    def named(self, text: str, names: Mapping[str, Any] | None) -> str:
        """An API sentence that names campuses or small groups by code, with their names: the
        sentence's own `template` (events writes the words), {} replaced by the names."""
        if not names or not names.get("template"):
            return text
        return str(names["template"]).replace("{}", self.names(names["rule"], names["codes"]))

    @property
    def choices(self) -> list[Mapping[str, Any]]:
        """The campuses for a form's choices, in the order members lists them."""
        return list(self.campuses.values())


class OrgCache:
    """One Org for every visit, fetched again when it is older than TTL_SECONDS."""

    def __init__(self, ttl: float = TTL_SECONDS) -> None:
        self.ttl = ttl
        self.org = Org()
        self.fetched_at: float | None = None
        self.lock = asyncio.Lock()

    def fresh(self) -> bool:
        return self.fetched_at is not None and time.monotonic() - self.fetched_at < self.ttl

    async def get(self, fetch: Callable[[], Awaitable[list[dict[str, Any]]]]) -> Org:
        if self.fresh():
            return self.org
        async with self.lock:  # visits at once: one of them asks, the others wait for it
            if self.fresh():
                return self.org
            try:
                self.org = Org.of(await fetch())
            except ApiError:  # members is down or refuses: codes are better than no page
                return self.org
            self.fetched_at = time.monotonic()
            return self.org

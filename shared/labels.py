"""Codes with their Chinese label, said once: `MemberStatus.active.label == "在会"`.

A status, kind or role travels as its code (in events, URLs, the database, the API) and is
shown as its label. The two are written side by side in one enum, so no page, export or
message keeps its own words for them:

    class ItemStatus(Labelled):
        planned = "planned", "计划中"
        done = "done", "已完成"

    ItemStatus("done").label        # "已完成"
    ItemStatus.labels()             # {"planned": "计划中", "done": "已完成"}, for a form
    ItemStatus.of("已完成")          # the code or the label, as a person may type either

The enums every service and the web front end show live in `shared.vocabulary` (they are
part of the published language, like `shared.events`); a service's private ones may derive
from `Labelled` where they are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Labelled(StrEnum):
    """A StrEnum whose members are written `code = "code", "标签"`; the value is the code."""

    label: str

    # Runs once per member, when the class is made; `Status("done")` looks a member up
    # without it. The default is only there so type checkers accept that lookup.
    def __new__(cls, value: str, label: str = "") -> Self:
        if not label:
            raise TypeError(f"{cls.__name__}.{value}: a labelled code needs its Chinese label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Code → label in the enum's order: the choices of a form or a filter."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, code: str) -> str:
        """The label of a code from outside (a document, an API answer); an unknown code is
        shown as it is rather than failing a page."""
        try:
            return cls(code).label
        except ValueError:
            return code

    @classmethod
    def of(cls, text: str) -> Self:
        """The member named by its code or its label; ValueError for anything else."""
        for member in cls:
            if text in (member.value, member.label):
                return member
        raise ValueError(f"{text!r} is not a {cls.__name__}")


__all__ = ["Labelled"]

"""Domain errors: one type every service raises from its rules, mapped to RFC 9457 once.

A rule says *what* went wrong (a stable `code`, a Chinese message for the person, the facts
that explain it); `shared.problems` turns the kind into the HTTP status, so no `api.py` keeps
an if-chain of codes to statuses.

    raise Conflict("member.invalid_transition", "会员当前状态为「已退会」，不能退会",
                   current="withdrawn")
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorKind(StrEnum):
    not_found = "not_found"  # the thing asked for does not exist (or is not visible)
    forbidden = "forbidden"  # this caller may not do this here (403)
    conflict = "conflict"  # the current state does not allow it (409)
    refused = "refused"  # a business rule refuses it for this caller (422)
    invalid = "invalid"  # input a person must correct (422)


HTTP_STATUS: dict[ErrorKind, int] = {
    ErrorKind.not_found: 404,
    ErrorKind.forbidden: 403,
    ErrorKind.conflict: 409,
    ErrorKind.refused: 422,
    ErrorKind.invalid: 422,
}


# Members of every RFC 9457 problem Gonghui answers: a rule's details may not use them.
RESERVED = frozenset({"type", "title", "status", "code", "detail", "instance"})


class DomainError(Exception):
    """A rule was broken. `code` is stable (clients switch on it), `message` is zh-CN."""

    kind: ClassVar[ErrorKind] = ErrorKind.invalid

    def __init__(self, code: str, message: str, **details: Any) -> None:
        clash = RESERVED & details.keys()
        if clash:  # a programming error, caught by the first test that raises it
            raise TypeError(f"{code}: {sorted(clash)} are the problem's own members")
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]


class NotFound(DomainError):
    kind = ErrorKind.not_found


class Forbidden(DomainError):
    """The caller lacks the role, the campus or the grants; raised by `Principal.require…`."""

    kind = ErrorKind.forbidden


class Conflict(DomainError):
    kind = ErrorKind.conflict


class Refused(DomainError):
    kind = ErrorKind.refused


class Invalid(DomainError):
    kind = ErrorKind.invalid


class ConcurrencyConflict(Conflict):
    """Others kept changing the same record while we retried; the caller may try again."""

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(
            "concurrency.conflict",
            "数据正被他人同时修改，请刷新后重试",
            aggregate_id=aggregate_id,
        )

"""Accounts and sign-in rules (账号与登录): pure, no I/O.

- **Who may sign in, and as what.** The token's roles come from the member's union roles
  (`grants`): every member is `member` on their campus; 小组长, 委员, 副主席 and 主席 are `cadre`
  there; 经费管理 is `finance`, 经费审查委员 `auditor`; the chair (主席) of the school union —
  the union of the campus the settings name (`school_campus`) — is `admin` of every campus.
  Only active and retired members sign in.
- **Passwords.** A cadre sets an initial one or resets it; the member must change it at the
  next sign-in. The policy is in the schema (`PASSWORD_TEXT`, 8–128 characters, not only
  digits, no control characters) and checked again here on the raw value, the same way.
  Passwords are NFKC-normalised before hashing, so a full-width `１２３` from a Chinese IME
  signs in as `123` (NIST SP 800-63B §5.1.1.2).
- **Lockout.** Five wrong passwords in one *window* lock the account for 15 minutes. Each
  wrong password takes the next of five numbered failure slots of the window (a unique-key
  insert each, see `store.Failures`), so concurrent wrong attempts can never count as fewer;
  the one that takes slot five locks. A sign-in after wrong attempts, and every unlock, opens
  the next window (`Account.window`), so old failures stop counting.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.members.membership.domain import Member, MemberStatus

# The rules of what a member signs in as live with membership (its domain needs them too);
# they are named here as well, where sign-in reads them.
from services.members.membership.grants import CADRE_ROLES as CADRE_ROLES
from services.members.membership.grants import check_role_grant as check_role_grant

# What union roles give at sign-in is the membership area's rule (membership.grants); named
# here too for the accounts area's callers.
from services.members.membership.grants import grants as grants
from services.members.membership.grants import grants_for as grants_for
from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid
from shared.events.members import (
    AccountLocked,
    AccountUnlocked,
    PasswordChanged,
    PasswordSet,
    SignedIn,
    SignedInV2,
)

MAX_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)
PASSWORD_MIN, PASSWORD_MAX = 8, 128
_CONTROL = "\\x00-\\x1f\\x7f-\\x9f"
# The policy a client can know (no look-arounds: pydantic's and schemathesis' engines agree on
# this form): no control characters, and at least one character that is neither a digit nor
# a space, so "12345678" (a birthday, a phone number) is refused. Length is min/max_length.
PASSWORD_TEXT = f"^[^{_CONTROL}]*[^\\d\\s{_CONTROL}][^{_CONTROL}]*$"
PASSWORD_RULE = "8–128 个字符，不能全是数字，不含控制字符"
_PASSWORD = re.compile(PASSWORD_TEXT)

SIGN_IN_STATUSES = frozenset({MemberStatus.active, MemberStatus.retired})


def may_sign_in(member: Member) -> None:
    if member.status not in SIGN_IN_STATUSES:
        raise Conflict(
            "auth.membership_inactive",
            "会籍状态不允许登录，请联系工会干部",
            current=member.status.value,
        )


# -- passwords --------------------------------------------------------------------------------


def check_password_policy(raw: str) -> None:
    """The schema's policy, for callers that do not come through the schema."""
    if not PASSWORD_MIN <= len(raw) <= PASSWORD_MAX or not _PASSWORD.match(raw):
        raise Invalid("account.weak_password", f"密码须为{PASSWORD_RULE}", field="password")


def normalize_password(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw)


# -- the account ------------------------------------------------------------------------------


class Account(Aggregate):
    """A member's sign-in account; its id is the member id. The hash is sealed at rest."""

    secret_fields = frozenset({"password_hash"})

    password_hash: str | None = None
    must_change_password: bool = False
    password_set_at: datetime | None = None
    password_set_by: str | None = None
    # Refresh tokens of sessions begun before this are refused (a password set or changed).
    sessions_from: datetime | None = None
    window: int = 1  # failure window: wrong passwords count within one
    locked_until: datetime | None = None
    signed_in_at: datetime | None = None

    def set_password(self, password_hash: str, by: str, now: datetime) -> None:
        """A cadre sets an initial password or resets it: the member must change it."""
        reset = self.password_hash is not None
        self.password_hash = password_hash
        self.must_change_password = True
        self.password_set_at, self.password_set_by, self.sessions_from = now, by, now
        self.record(PasswordSet.of(self, reset=reset))

    def change_password(self, password_hash: str, now: datetime) -> None:
        """The member chooses their own password."""
        self.password_hash = password_hash
        self.must_change_password = False
        self.password_set_at, self.password_set_by, self.sessions_from = now, self.id, now
        self.record(PasswordChanged.of(self))

    def signed_in(
        self, now: datetime, method: str, window: int, failures: int, rehash: str | None
    ) -> None:
        """A sign-in: wrong attempts of `window` stop counting; a hash made with weaker
        parameters than today's is replaced by `rehash`."""
        if failures and self.window == window:
            self.window += 1
        if rehash:
            self.password_hash = rehash
        self.signed_in_at = now
        self.record(SignedInV2.of(self, method=method, failures_before=failures))
        if method in ("password", "login_link"):  # v1 knows only these (deprecated)
            self.record(SignedIn.of(self, method=method, failures_before=failures))

    def lock(self, window: int, until: datetime) -> None:
        if self.window != window or self.locked_until == until:
            return  # unlocked since, or recorded already
        self.locked_until = until
        self.record(AccountLocked.of(self, locked_until=until))

    def unlock(self, window: int, reason: str) -> None:
        """Open the next window; a no-op when `window` was closed already (a race)."""
        if self.window != window:
            return
        self.window += 1
        self.locked_until = None
        self.record(AccountUnlocked.of(self, reason=reason))


def new_account(member: Member) -> Account:
    return Account(id=member.id, campus=member.campus)


@dataclass(frozen=True)
class FailureWindow:
    """The wrong passwords of an account's current window, as the failure slots show them."""

    window: int
    times: tuple[datetime, ...]  # when each taken slot was taken, slot 1 first

    @property
    def failures(self) -> int:
        return len(self.times)

    @property
    def locked_until(self) -> datetime | None:
        """The lock the fifth wrong password set, if the window has one."""
        return self.times[MAX_FAILURES - 1] + LOCK_FOR if self.failures >= MAX_FAILURES else None

    def locked(self, now: datetime) -> bool:
        until = self.locked_until
        return until is not None and now < until

    def expired(self, now: datetime) -> bool:
        """Locked once, and the 15 minutes are over: the next window may open."""
        until = self.locked_until
        return until is not None and now >= until


def lock_until(fifth_at: datetime) -> datetime:
    return fifth_at + LOCK_FOR


def contiguous(found: Iterable[int]) -> int:
    """How many slots 1, 2, … are taken without a gap (slots are taken in order)."""
    taken, n = set(found), 0
    while n + 1 in taken:
        n += 1
    return n

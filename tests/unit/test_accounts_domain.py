"""Pure sign-in rules: roles from union roles, no escalation, the password policy, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel, Field, ValidationError

from services.members.accounts.domain import (
    LOCK_FOR,
    PASSWORD_TEXT,
    Account,
    FailureWindow,
    check_password_policy,
    grants,
    may_sign_in,
    normalize_password,
)
from services.members.membership.domain import Member, MemberStatus, UnionRole
from shared.errors import Conflict, Invalid
from shared.principal import Principal, covers

NOW = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def member(*roles: UnionRole, campus: str = "north", status=MemberStatus.active) -> Member:
    return Member(
        id="m-1",
        campus=campus,
        staff_no="T1",
        name="王芳",
        department="艺术系",
        roles=list(roles),
        status=status,
    )


@pytest.mark.parametrize(
    ("roles", "campus", "expected_roles", "expected_campuses"),
    [
        ((), "north", ("member",), ("north",)),
        ((UnionRole.group_leader,), "north", ("cadre", "member"), ("north",)),
        ((UnionRole.committee,), "east", ("cadre", "member"), ("east",)),
        ((UnionRole.vice_chair,), "main", ("cadre", "member"), ("main",)),
        ((UnionRole.chair,), "east", ("cadre", "member"), ("east",)),  # a campus chair
        ((UnionRole.chair,), "main", ("admin", "cadre", "member"), ("*", "main")),  # the school's
        ((UnionRole.finance,), "north", ("finance", "member"), ("north",)),
        ((UnionRole.auditor,), "north", ("auditor", "member"), ("north",)),
        (
            (UnionRole.finance, UnionRole.group_leader),
            "north",
            ("cadre", "finance", "member"),
            ("north",),
        ),
    ],
)
def test_roles_come_from_union_roles(roles, campus, expected_roles, expected_campuses):
    granted = grants(member(*roles, campus=campus), school_campus="main")
    assert granted.roles == expected_roles and granted.campuses == expected_campuses


def principal(roles: list[str], campuses: list[str]) -> Principal:
    return Principal("x", frozenset(roles), frozenset(campuses))


def test_setting_a_password_never_lets_the_caller_gain_rights():
    plain = grants(member(campus="north"), "main")
    leader = grants(member(UnionRole.group_leader, campus="north"), "main")
    treasurer = grants(member(UnionRole.finance, campus="north"), "main")
    school_chair = grants(member(UnionRole.chair, campus="main"), "main")
    north_cadre = principal(["cadre"], ["north"])
    assert covers(north_cadre, plain) and covers(north_cadre, leader)
    assert not covers(north_cadre, treasurer)  # cadre cannot become finance
    assert not covers(principal(["cadre"], ["east"]), plain)
    assert not covers(principal(["admin"], ["north", "main"]), school_chair)  # not every campus
    assert covers(principal(["admin"], ["*"]), school_chair)
    assert covers(principal(["admin"], ["north"]), treasurer)


def test_only_active_and_retired_members_sign_in():
    may_sign_in(member(status=MemberStatus.active))
    may_sign_in(member(status=MemberStatus.retired))
    for status in (MemberStatus.applied, MemberStatus.withdrawn, MemberStatus.deceased):
        with pytest.raises(Conflict) as exc:
            may_sign_in(member(status=status))
        assert exc.value.details["current"] == status.value


class Body(BaseModel):
    password: str = Field(min_length=8, max_length=128, pattern=PASSWORD_TEXT)


@pytest.mark.parametrize(
    "password", ["abcdefgh", "wo-de-mima-7", "密码是八个汉字啊", "1234567a", "  spaced out  "]
)
def test_the_policy_accepts(password):
    Body(password=password)
    check_password_policy(password)


@pytest.mark.parametrize(
    "password", ["short1a", "12345678", "１２３４５６７８", "1234 5678", "tab\there1", "x" * 129]
)
def test_the_schema_and_the_rule_refuse_the_same(password):
    with pytest.raises(ValidationError):
        Body(password=password)
    with pytest.raises(Invalid):
        check_password_policy(password)


def test_full_width_input_is_the_same_password():
    assert normalize_password("ｍｉｍａ１２３４") == "mima1234"


def test_a_failure_window_locks_at_the_fifth_for_15_minutes():
    four = FailureWindow(1, tuple(NOW + timedelta(seconds=i) for i in range(4)))
    assert four.failures == 4 and four.locked_until is None and not four.locked(NOW)
    five = FailureWindow(1, (*four.times, NOW + timedelta(seconds=10)))
    assert five.locked_until == NOW + timedelta(seconds=10) + LOCK_FOR
    assert five.locked(NOW + LOCK_FOR) and not five.expired(NOW + LOCK_FOR)
    after = NOW + timedelta(seconds=10) + LOCK_FOR
    assert not five.locked(after) and five.expired(after)


def test_an_unlock_opens_the_next_window_once():
    account = Account(id="m-1", campus="north", window=3)
    account.lock(3, NOW + LOCK_FOR)
    assert account.locked_until == NOW + LOCK_FOR
    account.unlock(3, "expired")
    assert account.window == 4 and account.locked_until is None
    [locked, unlocked] = [e.type for e in account.pull_events()]
    assert (locked, unlocked) == ("members.account.locked.v1", "members.account.unlocked.v1")
    account.unlock(3, "cadre")  # a second unlocker of the same window: nothing happens
    assert account.window == 4 and not account.events


def test_a_sign_in_after_wrong_attempts_opens_the_next_window():
    account = Account(id="m-1", campus="north", window=2)
    account.signed_in(NOW, "password", window=2, failures=0, rehash=None)
    assert account.window == 2
    account.signed_in(NOW, "password", window=2, failures=3, rehash=None)
    assert account.window == 3 and account.signed_in_at == NOW


def test_a_cadre_set_password_must_be_changed_and_ends_sessions():
    account = Account(id="m-1", campus="north")
    account.set_password("$argon2id$…", by="cadre-1", now=NOW)
    assert account.must_change_password and account.sessions_from == NOW
    assert account.pull_events()[0].model_dump()["reset"] is False
    account.change_password("$argon2id$new", now=NOW + timedelta(minutes=1))
    assert not account.must_change_password and account.password_set_by == "m-1"
    account.set_password("$argon2id$again", by="cadre-1", now=NOW)
    assert account.pull_events()[-1].model_dump()["reset"] is True

"""Condolence cases and birthdays against the policy profile, as pure rules: every capped kind
names a category of the profile, the standard amounts fit the profile's caps, and a month's
birthday run covers every birthday of it."""

from __future__ import annotations

import pytest

from services.welfare.birthdays.domain import BIRTHDAY_FEN, days_of
from services.welfare.cases.domain import AUTO_AMOUNT_FEN, CATEGORY, cap_key
from services.welfare.policy.domain import check_payment
from services.welfare.policy.profile import Category, current_profile
from shared.vocabulary.welfare import CaseKind


def test_every_kind_says_which_cap_it_counts_against():
    assert set(CATEGORY) == set(CaseKind)
    profile = current_profile()
    for category in CATEGORY.values():
        if category is not None:
            assert profile.cap(category).category is category


@pytest.mark.parametrize(("kind", "amount"), sorted(AUTO_AMOUNT_FEN.items()))
def test_the_amounts_of_cases_raised_automatically_fit_the_profile(kind, amount):
    category = CATEGORY[kind]
    if category is not None:
        cap = current_profile().cap(category)
        check_payment(cap, amount)  # within the per-occasion cap: no refusal
        assert amount <= cap.per_year_fen


def test_the_birthday_benefit_fits_the_birthday_cap():
    cap = current_profile().cap(Category.birthday)
    check_payment(cap, BIRTHDAY_FEN)
    assert BIRTHDAY_FEN <= cap.per_year_fen


def test_a_cases_claim_has_a_key_of_its_own_in_the_cap_book():
    # Festival gifts claim under `ent:…`: a case's key never collides with theirs.
    assert cap_key("c-0123456789ab") == "case:c-0123456789ab"


@pytest.mark.parametrize("year", [2025, 2026, 2027, 2028, 2100])
def test_members_born_on_29_february_have_their_birthday_every_year(year):
    # In a common year February has no 29th: its run takes them, else they would have a
    # benefit one year in four (2100 is a common year too).
    february = days_of(f"{year}-02")
    assert february == [f"02-{day:02d}" for day in range(1, 30)]
    assert "02-29" not in days_of(f"{year}-03") + days_of(f"{year}-01")


def test_a_months_run_covers_each_of_its_days_once():
    assert days_of("2026-04") == [f"04-{day:02d}" for day in range(1, 31)]
    assert days_of("2026-12")[-1] == "12-31" and len(days_of("2026-12")) == 31
    every = [day for month in range(1, 13) for day in days_of(f"2027-{month:02d}")]
    assert len(every) == len(set(every)) == 366  # every MM-DD a directory can hold, once

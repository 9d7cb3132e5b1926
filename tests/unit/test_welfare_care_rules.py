"""Condolence cases and birthdays against the policy profile, as pure rules: every capped kind
names a category of the profile, and the standard amounts fit the profile's caps."""

from __future__ import annotations

import pytest

from services.welfare.birthdays.domain import BIRTHDAY_FEN
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

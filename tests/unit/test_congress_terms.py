"""Representatives from members' congress terms, pure: a term (a start year and a length)
covers a session's year from its first year to its last; members' `members.member` events
carry the terms, and an event from a publisher that predates them says nothing about them."""

from __future__ import annotations

from datetime import date

import pytest

from services.events.congress.domain import in_office, term_covers
from services.members.membership.domain import CongressTerm, JoinMember, UpdateDetails, join
from shared.events.members import MemberJoinedV2, MemberUpdated

TODAY = date(2026, 9, 1)


@pytest.mark.parametrize(
    ("start_year", "years", "year", "covers"),
    [
        (2024, 3, 2023, False),  # not begun
        (2024, 3, 2024, True),  # its first year
        (2024, 3, 2026, True),  # its last year: 2024 + 3 - 1
        (2024, 3, 2027, False),  # ended the year before
        (2026, 1, 2026, True),  # a one-year term covers its one year
        (2022, 5, 2026, True),
        (2022, 5, 2027, False),
    ],
)
def test_a_term_covers_from_its_start_year_to_its_last(start_year, years, year, covers):
    assert term_covers(start_year, years, year) is covers
    # members' CongressTerm says the same last year
    last = CongressTerm(term="第五届", start_year=start_year, years=years).end_year
    assert (start_year <= year <= last) is covers


def test_a_member_is_in_office_when_any_term_covers_the_year():
    terms = [
        {"term": "第四届", "start_year": 2020, "years": 3},
        {"term": "第五届", "start_year": 2025, "years": 3},
    ]
    assert [in_office(terms, y) for y in (2019, 2022, 2023, 2024, 2025, 2027, 2028)] == [
        False,
        True,
        False,
        False,
        True,
        True,
        False,
    ]
    assert not in_office([], 2026)
    assert not in_office([{"term": "第五届", "start_year": 2025}], 2026)  # no length: no term


def test_members_events_carry_the_terms_and_an_update_of_them():
    term = {"term": "第五届", "start_year": 2025, "years": 3}
    member = join(
        JoinMember(
            staff_no="T2026001",
            name="王老师",
            campus="main",
            department="语文组",
            congress_terms=[term],
        ),
        TODAY,
    )
    joined = next(e for e in member.events if isinstance(e, MemberJoinedV2))
    assert [t.model_dump() for t in joined.congress_terms] == [term]
    member.pull_events()
    member.update(UpdateDetails(congress_terms=[]))
    [updated] = member.events
    assert isinstance(updated, MemberUpdated) and updated.changed == ["congress_terms"]
    assert updated.congress_terms == []
    # As subscribers read it: said (even when empty) by the new publisher, unsaid by an old one.
    said = MemberUpdated.model_validate(updated.model_dump(mode="json"))
    assert "congress_terms" in said.model_fields_set
    unsaid = updated.model_dump(mode="json", exclude={"congress_terms"})
    assert "congress_terms" not in MemberUpdated.model_validate(unsaid).model_fields_set

"""The newest event wins, in every read model kept from events (one rule, no I/O)."""

from __future__ import annotations

from shared.events import sequence_of
from shared.readmodels.newest import is_newer


def test_the_first_event_of_an_entity_is_always_applied():
    assert is_newer(None, sequence_of(3))
    assert is_newer(None, None)  # an event from before sequences: can only have been the first


def test_only_a_later_sequence_replaces_what_is_known():
    known = {"_id": "m-1", "sequence": sequence_of(5)}
    assert is_newer(known, sequence_of(6))
    assert not is_newer(known, sequence_of(5))  # a redelivery
    assert not is_newer(known, sequence_of(4))  # a late or replayed older event


def test_sequences_compare_as_versions_do_past_one_digit():
    assert is_newer({"sequence": sequence_of(9)}, sequence_of(10))
    assert not is_newer({"sequence": sequence_of(10)}, sequence_of(9))


def test_an_unsequenced_event_never_overwrites_and_any_sequenced_one_replaces_it():
    assert not is_newer({"sequence": sequence_of(1)}, None)
    assert not is_newer({"sequence": None}, None)
    assert is_newer({"sequence": None}, sequence_of(1))

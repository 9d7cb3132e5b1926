"""A change record as the history reads it: a creation's diff is made from its state."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.aggregate import HIDDEN, Change

AT = datetime(2026, 12, 6, tzinfo=UTC)


def record(version: int, **fields) -> dict:
    return {
        "_id": f"m-1#{version:010d}",
        "aggregate": "m-1",
        "version": version,
        "action": "join" if version == 1 else "edit",
        "by": "cadre-gao",
        "request": "r1",
        "at": AT,
        **fields,
    }


def test_a_creation_shows_every_field_it_set_and_hides_the_secret_ones():
    state = {"name": "王芳", "campus": "main", "phone": None, "id_number": "gh2:sealed"}
    change = Change.from_doc(record(1, state=state), hidden=frozenset({"id_number"}))
    assert change.changed == {
        "campus": {"from": None, "to": "main"},
        "id_number": {"from": HIDDEN, "to": HIDDEN},
        "name": {"from": None, "to": "王芳"},
    }
    assert change.campus == "main"


def test_a_stored_diff_is_read_as_it_is():
    diff = {"position": {"from": None, "to": "教研组长"}}
    assert Change.from_doc(record(2, changed=diff, state={"campus": "main"})).changed == diff
    # Written before creations kept no diff: theirs is read as stored too.
    old = {"name": {"from": None, "to": "王芳"}}
    assert Change.from_doc(record(1, changed=old)).changed == old


def test_a_later_change_read_without_its_state_and_diff_has_none():
    assert Change.from_doc(record(3)).changed == {}

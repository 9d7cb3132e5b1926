"""The newest event wins: the one rule every read model kept from events applies.

Each event carries its `sequence` among its entity's events (`shared.events.sequence_of`:
text that orders as the versions do). A read model keeps the sequence of what it applied and
takes an event only when it is newer, so a redelivery, a dead-letter replay or a late event
never rolls the entity back (a `joined` replayed after `withdrawn` leaves them withdrawn).
The consumer that owns the entity's partition is the model's only writer for that entity, so
the compare-then-write below has nobody to race (FerretDB updates are not atomic: no
concurrent writer may rely on them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

SEQUENCE = "sequence"  # the field of a read model's document that holds what it applied


def is_newer(current: Mapping[str, Any] | None, sequence: str | None) -> bool:
    """Whether an event with `sequence` is newer than the document `current` (None: none yet).

    An event without a sequence predates ordering: it can only have been an entity's first,
    so it is applied only where nothing is known yet. A document without one was written by
    such an event: any sequenced event is newer.
    """
    if current is None:
        return True
    if sequence is None:
        return False
    seen = current.get(SEQUENCE)
    return seen is None or sequence > seen


async def apply_if_newer(
    coll: AsyncCollection,
    key: str,
    sequence: str | None,
    fields: Mapping[str, Any],
    *,
    replace: bool = False,
) -> bool:
    """Write `fields` for `key` unless a newer event was applied already; True if written.

    `replace`: the fields are the whole document (a compacted topic's latest record); else
    they are merged into what is known (events that each carry some of the facts).
    """
    current = await coll.find_one({"_id": key}, {SEQUENCE: 1})
    if not is_newer(current, sequence):
        return False
    doc = {**fields, SEQUENCE: sequence}
    if replace:
        await coll.replace_one({"_id": key}, doc, upsert=True)
    else:
        await coll.update_one({"_id": key}, {"$set": doc}, upsert=True)
    return True

"""The outbox writer and the relay's sweep on the real servers: crashes lose nothing.

A writer that dies after its insert but before publishing is played by a runtime that is
never started (its relay never runs): what it wrote waits behind a pending marker until the
sweep of another replica — the running service — publishes it.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.members.bootstrap import bootstrap as members_bootstrap
from services.members.membership.domain import JoinMember, join
from services.members.settings import MembersSettings
from shared.aggregate import Actor
from shared.errors import Conflict
from shared.outbox.writer import PENDING
from shared.timeutil import local_today, utcnow
from tests.integration.conftest import Stack, settings_for
from tests.kafka_tools import read_all, wait_until

pytestmark = pytest.mark.integration


def crashed_replica(stack: Stack):
    """A second members process on the same database and topics that dies after writing."""
    return members_bootstrap(
        settings_for(MembersSettings, stack.infra, stack.prefix), configure_logs=False
    )


async def test_what_a_crashed_replica_wrote_is_published_by_the_sweep_of_another(stack: Stack):
    ghost = crashed_replica(stack)
    try:
        cmd = JoinMember(staff_no="C0001", name="周敏", campus="main", department="艺术系")
        member = await ghost.context.members.enrol(join(cmd, local_today()), Actor("t"))
        assert await stack.members.relay.backlog() == 1  # its marker, left behind
    finally:
        await ghost.client.close()  # dies without stop(): no flush
    stack.members.relay.grace_s = 0.1  # the running replica's sweep may take it at once

    async def published() -> bool:
        records = await read_all(stack.bootstrap, stack.topic("members.member"), 500)
        return any(json.loads(r.value)["subject"] == member.id for r in records)

    await wait_until(published, 30, "the sweep to publish the dead replica's event")
    await wait_until(lambda: _backlog_is(stack, 0), 15, "the marker to go")


async def test_a_batch_left_behind_is_published_whole_but_never_a_refused_write(stack: Stack):
    # One marker covers a bulk insert: the sweep publishes each document the batch inserted,
    # and not the one whose key was taken (that document is another write's, with its events).
    taken = await stack.members.context.members.enrol(
        join(
            JoinMember(staff_no="C0101", name="王芳", campus="main", department="艺术系"),
            local_today(),
        ),
        Actor("t"),
    )
    ghost = crashed_replica(stack)
    try:
        batch = [
            join(
                JoinMember(staff_no=f"C01{i:02d}", name="王芳", campus="main", department="艺术系"),
                local_today(),
            )
            for i in range(1, 6)
        ]
        added = await ghost.context.members.store.add_many(batch, Actor("t"))
        assert added == [False, True, True, True, True]
        markers = await ghost.db[PENDING].find({"docs": {"$exists": True}}).to_list()
        assert len(markers) == 1 and len(markers[0]["docs"]) == 5  # one marker, every write
    finally:
        await ghost.client.close()
    new_ids = {m.id for m, ok in zip(batch, added, strict=True) if ok}
    stack.members.relay.grace_s = 0.1

    async def published() -> bool:
        records = await read_all(stack.bootstrap, stack.topic("members.member"), 500)
        subjects = [json.loads(r.value)["subject"] for r in records]
        return new_ids <= set(subjects)

    await wait_until(published, 30, "the sweep to publish the batch's four new members")
    await wait_until(lambda: _backlog_is(stack, 0), 15, "the batch's marker to go")
    records = await read_all(stack.bootstrap, stack.topic("members.member"), 500)
    sent = [
        json.loads(r.value)["id"] for r in records if json.loads(r.value)["subject"] == taken.id
    ]
    change = await stack.members.db["members_changes"].find_one({"_id": f"{taken.id}#{1:010d}"})
    assert sent == [e["id"] for e in change["outbox"]]  # only its own write's events, once


async def _backlog_is(stack: Stack, n: int) -> bool:
    return await stack.members.relay.backlog() == n


async def test_a_marker_whose_insert_never_happened_is_cleaned_up_not_published(stack: Stack):
    markers = stack.members.db[PENDING]
    await markers.insert_one(
        {
            "_id": "orphan-1",
            "coll": "members_changes",
            "doc": "m-never#0000000001",
            "events": ["ev-never"],
            "at": utcnow() - timedelta(minutes=5),
        }
    )
    await stack.members.relay.sweep(grace_s=0)
    assert await markers.find_one({"_id": "orphan-1"}) is None
    assert stack.members.relay.pending_events() == 0


async def test_a_fresh_marker_without_its_document_is_left_alone(stack: Stack):
    # Another replica may be between its marker insert and its document insert.
    markers = stack.members.db[PENDING]
    await markers.insert_one(
        {"_id": "fresh-1", "coll": "members_changes", "doc": "m-x#1", "events": [], "at": utcnow()}
    )
    await stack.members.relay.sweep(grace_s=0)
    assert await markers.find_one({"_id": "fresh-1"}) is not None
    await markers.delete_one({"_id": "fresh-1"})


async def test_a_lost_race_leaves_no_marker_behind(stack: Stack):
    registry = stack.members.context.members
    cmd = JoinMember(staff_no="C0002", name="周敏", campus="main", department="艺术系")
    winner = await registry.enrol(join(cmd, local_today()), Actor("t"))
    with pytest.raises(Conflict):
        # The same staff number races for the same change-log key and loses.
        await registry.store.add(join(cmd, local_today()), Actor("t"))
    change = await stack.members.db["members_changes"].find_one({"_id": f"{winner.id}#{1:010d}"})
    won = [e["id"] for e in change["outbox"]]
    markers = await stack.members.db[PENDING].find({"doc": change["_id"]}).to_list()
    assert all(m["events"] == won for m in markers)  # at most the winner's, never the loser's

"""The aggregate store's own API on the real server: what callers used to read from its
collections themselves (add-if-absent, which ids exist, what one request changed, a past
version, the changes of a log across aggregates)."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient, monitoring

from services.members.membership.domain import JoinMember, Member
from services.members.membership.domain import join as join_member
from shared.aggregate import Actor, AggregateStore, AlreadyExists, ChangeFilter
from shared.timeutil import local_today
from tests.integration.conftest import Stack, replica_of
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


def store_of(stack: Stack) -> AggregateStore[Member]:
    return stack.members.context.members.store


def new_member(staff_no: str, name: str = "王芳") -> Member:
    cmd = JoinMember(staff_no=staff_no, name=name, campus="main", department="艺术系")
    return join_member(cmd, local_today())


async def test_concurrent_adds_of_one_id_create_it_once_and_the_rest_get_that_one(
    module_stack: Stack,
):
    store = store_of(module_stack)
    # Twelve callers race to add the same member, each with its own name: one name wins.
    rivals = [new_member("ADD001", name=f"并发{i}") for i in range(12)]
    added = await asyncio.gather(
        *(store.add_if_absent(m, Actor(f"caller-{i}"), "join") for i, m in enumerate(rivals))
    )
    assert sum(a.created for a in added) == 1
    [winner] = [a.aggregate for a in added if a.created]
    for lost in (a for a in added if not a.created):
        assert (lost.aggregate.name, lost.aggregate.version) == (winner.name, 1)
        assert lost.aggregate.id == winner.id
    history = await store.history(winner.id)
    assert [(c.version, c.action) for c in history] == [(1, "join")]
    assert history[0].by == f"caller-{rivals.index(winner)}"

    # `add` says the same thing as a 409 that carries what is there.
    with pytest.raises(AlreadyExists) as refused:
        await store.add(new_member("ADD001", name="迟到"), Actor("late"), "join")
    assert refused.value.code == "members.exists"
    existing = refused.value.existing
    assert isinstance(existing, Member) and existing.name == winner.name


async def test_existing_tells_which_ids_are_aggregates_before_the_view_has_them(
    module_stack: Stack,
):
    store = store_of(module_stack)
    first, second = new_member("EX0001"), new_member("EX0002")
    await store.add(first, Actor("t"), "join")
    await store.add(second, Actor("t"), "join")
    asked = [first.id, "m-nobody", second.id, first.id]
    assert await store.existing(asked) == {first.id, second.id}
    assert await store.existing([]) == set()


async def test_changes_of_request_are_what_that_request_did_and_nothing_else(
    module_stack: Stack,
):
    store = store_of(module_stack)
    ours, theirs, withdrawn = new_member("RQ0001"), new_member("RQ0002"), new_member("RQ0003")
    job = Actor("importer", request="job-trace-1")
    await store.add(ours, job, "import")
    await store.add(theirs, Actor("someone", request="other-trace"), "import")
    await store.add(withdrawn, job, "import")
    after = await store.change(withdrawn.id, lambda m: m.withdraw(local_today()), job, "withdraw")

    versions = {ours.id: 1, theirs.id: 1, withdrawn.id: after.version, "m-nobody": 1}
    found = await store.changes_of_request("job-trace-1", versions)
    assert sorted((c.aggregate_id, c.version, c.action) for c in found) == sorted(
        [(ours.id, 1, "import"), (withdrawn.id, 2, "withdraw")]
    )
    only_imports = await store.changes_of_request("job-trace-1", versions, "import")
    assert [(c.aggregate_id, c.version) for c in only_imports] == [(ours.id, 1)]
    [change] = [c for c in found if c.version == 2]
    assert change.changed["status"] == {"from": "active", "to": "withdrawn"}
    assert await store.changes_of_request("job-trace-1", {}) == []


async def test_at_version_is_the_state_one_change_left(module_stack: Stack):
    store = store_of(module_stack)
    member = new_member("AV0001")
    await store.add(member, Actor("t"), "join")
    await store.change(member.id, lambda m: m.withdraw(local_today()), Actor("t"), "withdraw")
    first, second = await store.at_version(member.id, 1), await store.at_version(member.id, 2)
    assert first is not None and second is not None
    assert (first.version, first.status.value) == (1, "active")
    assert (second.version, second.status.value) == (2, "withdrawn")
    assert await store.at_version(member.id, 3) is None


async def test_recent_changes_across_aggregates_newest_first_and_counted(module_stack: Stack):
    store = store_of(module_stack)
    actor = Actor("rc-cadre")
    members = [new_member(f"RC000{i}") for i in range(3)]
    for m in members:
        await store.add(m, actor, "join")
        await asyncio.sleep(0.01)  # times are kept to the millisecond: no ties to order
    await store.change(members[0].id, lambda m: m.withdraw(local_today()), actor, "withdraw")
    where = ChangeFilter(by="rc-cadre")
    assert await store.count_changes(where) == 4
    newest = await store.recent_changes(where, 2)
    assert [(c.aggregate_id, c.action) for c in newest] == [
        (members[0].id, "withdraw"),
        (members[2].id, "join"),
    ]
    assert {c.campus for c in newest} == {"main"}
    assert await store.count_changes(ChangeFilter(by="rc-cadre", campuses=["east"])) == 0
    joins = await store.recent_changes(ChangeFilter(by="rc-cadre", action="join"), 10)
    assert sorted(c.aggregate_id for c in joins) == sorted(m.id for m in members)


async def test_find_updated_gives_each_listed_aggregate_with_its_last_change_time(
    module_stack: Stack,
):
    store = store_of(module_stack)
    member = new_member("FU0001")
    await store.add(member, Actor("t"), "join")
    after = await store.change(
        member.id, lambda m: m.withdraw(local_today()), Actor("t"), "withdraw"
    )
    [last] = [c for c in await store.history(member.id) if c.version == after.version]

    async def listed() -> bool:
        found = await store.find_updated({"_id": member.id})
        return [a.version for a, _ in found] == [after.version]

    await wait_until(listed, 15, "the view to show the withdrawal")
    [(listed_member, updated_at)] = await store.find_updated({"_id": member.id})
    assert listed_member.status.value == "withdrawn"
    assert updated_at is not None and abs((updated_at - last.at).total_seconds()) < 0.002


async def test_a_creation_is_in_the_list_when_add_returns_and_its_event_changes_nothing(
    module_stack: Stack,
):
    store = store_of(module_stack)
    one = await store.add(new_member("LV0001", name="李清"), Actor("t"), "join")
    many = [new_member(f"LV01{i:02d}", name=f"批量{i}") for i in range(3)]
    assert await store.add_many(many, Actor("t"), "import") == [True, True, True]

    # No waiting for the consumer: the writer put the entries in.
    ids = [one.id, *(m.id for m in many)]
    listed = await store.find({"_id": {"$in": ids}}, limit=10)
    assert sorted((m.id, m.version) for m in listed) == sorted((i, 1) for i in ids)
    assert {m.name for m in listed} == {"李清", "批量0", "批量1", "批量2"}

    # The creation's event (or its redelivery) finds the entry and leaves it as it is.
    assert await store.refresh_view(one.id, 1) == 1
    after = await store.change(one.id, lambda m: m.withdraw(local_today()), Actor("t"), "withdraw")
    await wait_until(
        lambda: _listed_version(store, one.id, after.version), 20, "the list follows the change"
    )
    await store.refresh_view(one.id, 1)  # a late v1 event: no step back
    assert await _listed_version(store, one.id, after.version)
    # The same on another replica, which did not insert the entry and reads its version.
    assert await replica_of(store).refresh_view(one.id, 1) == after.version
    assert await _listed_version(store, one.id, after.version)


async def _listed_version(store: AggregateStore[Member], member_id: str, version: int) -> bool:
    found = await store.find({"_id": member_id}, limit=1)
    return bool(found) and found[0].version == version


class Finds(monitoring.CommandListener):
    """The `find` commands a client sends (a by-id read's lookups)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.sent.append(event.command["find"])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_creation_event_for_an_entry_this_process_inserted_reads_nothing(
    module_stack: Stack, infra
):
    """A bulk creation's events come back to the writer's own consumer: each used to read
    its entry's version (as many reads as entries made) only to find it there."""
    finds = Finds()
    client: AsyncMongoClient = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[finds]
    )
    try:
        writer = replica_of(store_of(module_stack), client[module_stack.members.db.name])
        made = [new_member(f"FV00{i:02d}", name=f"首见{i}") for i in range(3)]
        assert await writer.add_many(made, Actor("t"), "import") == [True, True, True]
        finds.sent.clear()
        assert [await writer.refresh_view(m.id, 1) for m in made] == [1, 1, 1]
        assert finds.sent == []
        other = replica_of(writer)  # did not insert them: asks
        assert await other.refresh_view(made[0].id, 1) == 1 and finds.sent == [writer.view.name]
    finally:
        await client.close()


async def test_a_replica_reads_what_another_wrote_and_a_warm_read_asks_once(
    module_stack: Stack, infra
):
    """A store remembers the newest version it saw and asks the log for the next one only;
    another replica's changes are still read (and decided on) as they are in the log."""
    store = store_of(module_stack)
    finds = Finds()
    client: AsyncMongoClient = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[finds]
    )
    try:
        replica = replica_of(store, client[store.db.name])
        today = local_today()
        member = await store.add(new_member("RP0001", name="周复"), Actor("a"), "join")
        assert (await replica.require(member.id)).status.value == "active"  # view, then version 2
        finds.sent.clear()
        assert (await replica.require(member.id)).version == 1
        assert finds.sent == [store.log.name]  # only: is there a version 2?

        await store.change(member.id, lambda m: m.transfer("north", today), Actor("a"), "move")
        await store.change(member.id, lambda m: m.withdraw(today), Actor("a"), "withdraw")
        seen = await replica.require(member.id)
        assert (seen.version, seen.campus, seen.status.value) == (3, "north", "withdrawn")
        many = await replica.get_many([member.id, "m-nobody"])
        assert list(many) == [member.id] and many[member.id].version == 3

        # The replica remembers version 3 (withdrawn); the first one moves it on. Approving
        # is refused on what the replica remembers, asked again on the log, and done there.
        await store.change(member.id, lambda m: m.reapply(today), Actor("a"), "reapply")
        approved = await replica.change(member.id, lambda m: m.approve(today), Actor("b"), "ok")
        assert (approved.version, approved.status.value) == (5, "active")
        # And a change decided on a remembered state that another replica has passed loses
        # its version's race and is decided again on the log.
        await store.change(member.id, lambda m: m.transfer("main", today), Actor("a"), "move")
        again = await replica.change(
            member.id, lambda m: m.transfer("east", today), Actor("b"), "move"
        )
        assert (again.version, again.campus) == (7, "east")
        assert [c.version for c in await store.history(member.id)] == [1, 2, 3, 4, 5, 6, 7]
        assert (await store.require(member.id)).campus == "east"  # the first replica reads it too

        # Missing is remembered too, and asked again as version 1 only: it may come.
        ghost = new_member("RP0002", name="未至")
        assert await replica.get(ghost.id) is None
        finds.sent.clear()
        assert await replica.get(ghost.id) is None and await replica.get_many([ghost.id]) == {}
        assert finds.sent == [store.log.name, store.log.name]
        await store.add(ghost, Actor("a"), "join")
        assert (await replica.require(ghost.id)).name == "未至"
    finally:
        await client.close()


async def test_a_guess_is_never_older_than_the_view(module_stack: Stack):
    """`get(current=False)` reads the view, as handlers reasoning about what the view held
    need (registrations: "the activity's cancel was consumed before me"); what a replica
    remembers only replaces an older view, never a newer one."""
    store = store_of(module_stack)
    replica = replica_of(store)
    member = await store.add(new_member("GV0001", name="吴猜"), Actor("a"), "join")
    assert (await replica.require(member.id)).version == 1  # remembered at version 1
    today = local_today()
    await store.change(member.id, lambda m: m.withdraw(today), Actor("a"), "withdraw")
    await wait_until(lambda: _listed_version(store, member.id, 2), 20, "the view at version 2")
    guess = await replica.get(member.id, current=False)
    assert guess is not None and (guess.version, guess.status.value) == (2, "withdrawn")

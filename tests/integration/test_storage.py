"""FerretDB's storage on the real servers.

On the embedded PostgreSQL: lookups on declared indexes and on `_id` are answered from the
GIN twins (FerretDB's own `explain` shows the plan PostgreSQL made for FerretDB's statement),
twins follow FerretDB's indexes when they go, a data folder made before the twins gets them at
its next start, and the server runs unprivileged, on 127.0.0.1 only, with a password. The
SQLite backend still serves. Timings are `python -m deploy.bench.storage`'s business, not
asserted here.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from deploy.local.infra import FerretDB, Postgres, free_port
from deploy.local.postgres import SERVER_USER
from deploy.local.prepare import cache_paths, ferretdb_ready
from tests.infra import unique_name

pytestmark = pytest.mark.integration


def embedded_postgres(infra) -> Postgres:
    if infra.postgres is None:
        pytest.skip(f"the MongoDB-wire server here does not run on ours ({infra.storage})")
    return infra.postgres


def ferretdb_binary() -> Path:
    paths = cache_paths()
    if not ferretdb_ready(paths):
        pytest.skip("FerretDB is not built here (the session does not use the embedded one)")
    return paths.ferretdb


def indexes_used(explain: dict) -> list[str]:
    """Names of the indexes in the plan PostgreSQL made for FerretDB's statement."""
    names: list[str] = []

    def walk(node: dict) -> None:
        if "Index Name" in node:
            names.append(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(explain["queryPlanner"]["Plan"])
    return names


async def explain(db, filter_: dict) -> list[str]:
    return indexes_used(await db.command("explain", {"find": "members", "filter": filter_}))


def members(n: int, prefix: str = "T") -> list[dict]:
    return [
        {
            "_id": f"m-{i:05d}",
            "staff_no": f"{prefix}{i:06d}",
            "name": f"王老师{i}",
            "campus": ("main", "north", "south", "east")[i % 4],
            "status": "retired" if i % 25 == 1 else "active",
        }
        for i in range(n)
    ]


def reachable_temp_dir() -> Path:
    """A folder under /tmp that PostgreSQL's user can enter (when we are root, another user)."""
    root = Path(tempfile.mkdtemp(prefix="gonghui-storage-test-"))
    root.chmod(0o711)
    return root


@asynccontextmanager
async def ferretdb_on(pg: Postgres | None, root: Path) -> AsyncIterator[AsyncMongoClient]:
    """PostgreSQL (if given, set up) and FerretDB on it, stopped again afterwards."""
    fdb = FerretDB(root / "ferretdb", free_port(), ferretdb_binary(), postgres=pg)
    try:
        if pg is not None:
            await pg.start(60)
            await pg.setup()
        await fdb.start(60)
        client: AsyncMongoClient = AsyncMongoClient(fdb.url, serverSelectionTimeoutMS=10000)
        try:
            yield client
        finally:
            await client.close()
    finally:
        await fdb.stop(20)
        if pg is not None:
            await pg.stop(20)


async def test_lookups_by_id_and_on_declared_indexes_use_the_gin_twins(infra):
    pg = embedded_postgres(infra)
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, serverSelectionTimeoutMS=10000)
    db = client[unique_name("ts_")]
    try:
        coll = db["members"]
        await coll.create_index("staff_no", unique=True)
        await coll.create_index([("campus", 1), ("status", 1)])
        await coll.insert_many(members(3000))
        await pg.psql(f'ANALYZE "{db.name}".' + await table_of(pg, db.name, "members"))

        by_id = await explain(db, {"_id": "m-00042"})
        by_staff_no = await explain(db, {"staff_no": "T000042"})
        by_campus_status = await explain(db, {"campus": "north", "status": "retired"})
        assert len(by_id) == 1 and by_id[0].endswith("_gin"), by_id
        assert len(by_staff_no) == 1 and by_staff_no[0].endswith("_gin"), by_staff_no
        assert by_staff_no != by_id
        assert len(by_campus_status) == 1 and by_campus_status[0].endswith("_gin")
        assert await explain(db, {"name": "王老师42"}) == []  # no index declared: a scan
        found = await coll.find_one({"staff_no": "T000042"})
        assert found is not None and found["_id"] == "m-00042"
        assert await coll.count_documents({"campus": "north", "status": "retired"}) == 30

        await coll.drop_index("staff_no_1")  # its twin goes with it
        assert await explain(db, {"staff_no": "T000042"}) == []
        assert set(await twins(pg, db.name)) == {*by_id, *by_campus_status}
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_many_concurrent_updates_through_the_given_url_never_hang(infra):
    """FerretDB 1.24 holds two pool connections per update; the URL's maxPoolSize keeps a
    client's operations below the pool's size, so a burst of updates queues instead of
    deadlocking (with pool 8 and no cap, 16 concurrent updates hung for good)."""
    embedded_postgres(infra)
    client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url, serverSelectionTimeoutMS=10000)
    db = client[unique_name("ts_")]
    try:
        await db["counters"].insert_one({"_id": "seats", "taken": 0})

        async def take() -> int:
            result = await db["counters"].update_one({"_id": "seats"}, {"$inc": {"taken": 1}})
            return result.matched_count

        async with asyncio.timeout(120):  # a deadlock never ends; this run takes seconds
            matched = await asyncio.gather(*(take() for _ in range(64)))
        assert sum(matched) == 64
    finally:
        await client.drop_database(db.name)
        await client.close()


async def table_of(pg: Postgres, schema: str, collection: str) -> str:
    out = await pg.psql(
        f"SELECT _jsonb->>'table' FROM \"{schema}\"._ferretdb_database_metadata "
        f"WHERE _jsonb->>'_id' = '{collection}'"
    )
    return out.strip()


async def twins(pg: Postgres, schema: str) -> list[str]:
    out = await pg.psql(
        "SELECT indexname FROM pg_indexes "
        f"WHERE schemaname = '{schema}' AND indexdef LIKE '%USING gin%'"
    )
    return out.split()


async def test_a_data_folder_from_before_the_twins_gets_them_at_its_next_start(infra):
    embedded_postgres(infra)
    root = reachable_temp_dir()
    try:
        old = Postgres(root / "postgres", free_port(), gin_twins=False)  # an earlier launcher
        async with ferretdb_on(old, root) as client:
            coll = client["gonghui_members"]["members"]
            await coll.create_index("staff_no", unique=True)
            await coll.insert_many(members(500))
            assert await twins(old, "gonghui_members") == []

        new = Postgres(root / "postgres", free_port())
        async with ferretdb_on(new, root) as client:
            assert new.twins_added == 2  # `_id_` and `staff_no_1`
            db = client["gonghui_members"]
            assert (await explain(db, {"staff_no": "T000007"}))[0].endswith("_gin")
            assert await db["members"].count_documents({}) == 500  # the data is still there
            await db["members"].create_index("name")  # the trigger is there now too
            assert len(await twins(new, "gonghui_members")) == 3
            await new.setup()  # what every later start does: nothing twice
            assert new.twins_added == 0
            assert len(await twins(new, "gonghui_members")) == 3
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Uid line for {pid}")


async def test_postgres_runs_unprivileged_on_127_0_0_1_and_wants_the_password(infra):
    pg = embedded_postgres(infra)
    expected = pwd.getpwnam(SERVER_USER).pw_uid if os.geteuid() == 0 else os.geteuid()
    assert pg.pid is not None and pg.bin_dir is not None
    assert _uid_of(pg.pid) == expected != 0
    assert pg.pgdata.stat().st_mode & 0o077 == 0  # only its owner may read the cluster
    assert pg.password_file.stat().st_mode & 0o077 == 0
    assert (await pg.psql("SHOW listen_addresses")).strip() == "127.0.0.1"
    assert (await pg.psql("SHOW server_encoding; SHOW lc_collate")).split() == ["UTF8", "C.UTF-8"]

    wrong = await asyncio.create_subprocess_exec(
        pg.bin_dir / "psql",
        *("-X", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "gonghui", "-c", "SELECT 1"),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PGPASSWORD": "not-the-password"},
    )
    _, stderr = await wrong.communicate()
    assert wrong.returncode != 0
    assert "password authentication failed" in stderr.decode()


async def test_ferretdb_on_sqlite_still_serves():
    root = reachable_temp_dir()
    try:
        async with ferretdb_on(None, root) as client:
            coll = client["gonghui_members"]["members"]
            await coll.create_index("staff_no", unique=True)
            await coll.insert_many(members(20))
            with pytest.raises(DuplicateKeyError):
                await coll.insert_one({"_id": "m-x", "staff_no": "T000003"})
            found = await coll.find_one({"staff_no": "T000003"})
            assert found is not None and found["_id"] == "m-00003"
        assert list((root / "ferretdb" / "sqlite").glob("gonghui_members.sqlite"))
        assert not (root / "postgres").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Re-sealing secret fields sealed before they were bound to their place (`gh1:` → `gh2:`).

A value sealed in the first format carries no associated data, so it would open on any
member's record. Once, at start, every such value of a store's secret fields — in the change
log (`state.<field>`) and in the list view — is opened and sealed again for its record and
field (`Sealer.reseal`). Each write replaces one old value by its re-sealed copy, guarded by
the old value, so replicas doing it at once (or a restart half-way) only repeat work: both
copies open to the same plaintext. The log goes first, so a view refreshed from it meanwhile
already copies the new format. When a pass finds nothing left it leaves a marker
(`reseal_done`), and later starts skip the scan. Reading never depends on it: the first
format still opens (without the binding) until its value is re-sealed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.aggregate import AggregateStore
from shared.crypto import UNBOUND, Sealer
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

DONE = "reseal_done"
MARK = "aad-v2"  # this migration; a later format gets its own marker


async def _reseal(
    coll: AsyncCollection, prefix: str, fields: Sequence[str], sealer: Sealer, where: Any
) -> int:
    """Re-seal the old values of `fields` (under `prefix`) in one collection."""
    paths = [f"{prefix}{f}" for f in fields]
    query = {"$or": [{p: {"$regex": f"^{UNBOUND}"}} for p in paths]}
    count = 0
    async for doc in coll.find(query, {p: 1 for p in paths} | {"aggregate": 1}):
        for field, path in zip(fields, paths, strict=True):
            value = doc.get(prefix.rstrip(".")) if prefix else doc
            old = value.get(field) if isinstance(value, dict) else None
            if not isinstance(old, str) or not old.startswith(UNBOUND):
                continue
            new = sealer.reseal(old, *where(doc, field))
            await coll.update_one({"_id": doc["_id"], path: old}, {"$set": {path: new}})
            count += 1
    return count


async def reseal_store(store: AggregateStore[Any]) -> int:
    """Re-seal every old-format secret value of one aggregate store; how many were."""
    fields = sorted(store.model.secret_fields)
    if not fields or store.sealer is None:
        return 0
    sealer = store.sealer
    done = store.db[DONE]
    if await done.find_one({"_id": f"{MARK}:{store.name}"}, {"_id": 1}):
        return 0
    in_log = await _reseal(
        store.log, "state.", fields, sealer, lambda d, f: store.sealed_at(d["aggregate"], f)
    )
    in_view = await _reseal(
        store.view, "", fields, sealer, lambda d, f: store.sealed_at(d["_id"], f)
    )
    with contextlib.suppress(DuplicateKeyError):
        await done.insert_one(
            {"_id": f"{MARK}:{store.name}", "at": utcnow(), "log": in_log, "view": in_view}
        )
    if in_log or in_view:
        log.info("re-sealed %s: %d in the log, %d in the view", store.name, in_log, in_view)
    return in_log + in_view


class ResealOnStart:
    """A service worker (`ServiceRuntime.run_worker`): re-seals its stores once at start, in
    the background (reads work meanwhile: the old format still opens)."""

    def __init__(self, stores: Sequence[AggregateStore[Any]]) -> None:
        self.stores = list(stores)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        for store in self.stores:
            try:
                await reseal_store(store)
            except Exception:
                log.exception("re-sealing %s failed; the next start tries again", store.name)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

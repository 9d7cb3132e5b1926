"""Session-wide test fixtures.

`infra` starts (or finds) Kafka, a MongoDB-wire server and an SMTP server once per session,
and only when a selected test asks for it: `pytest tests/unit` starts nothing. See
tests/infra.py for how it is chosen. Async fixtures and tests share one session event loop
(pyproject: asyncio_default_fixture_loop_scope = asyncio_default_test_loop_scope = "session").
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.infra import TestInfra, start_test_infra, unique_name

__all__ = ["unique_name"]

# The suite runs on the checked-in development keys, which only development and test accept
# (a service started without GONGHUI_ENV is production and refuses them). Set before any
# settings are read; the services the suite starts as processes inherit it.
os.environ.setdefault("GONGHUI_ENV", "test")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def infra() -> AsyncIterator[TestInfra]:
    t0 = time.monotonic()
    handle = await start_test_infra()
    print(
        f"\n[infra] {handle.mode} infrastructure ({handle.storage}) ready in {time.monotonic() - t0:.1f}s"
    )
    try:
        yield handle
    finally:
        await handle.close()


@pytest.fixture
def unique() -> str:
    """A fresh name for one test's database / topic prefix / consumer group."""
    return unique_name("t")

"""Schemathesis against every live service: all checks, a fixed seed, a bounded run, 0 failures.

The four services run as processes on the real broker and database (the e2e platform). Each
schema is fuzzed with every check schemathesis has — server errors, status codes, content
types, response schemas and headers (`Allow` on 405), negative data rejected, valid data
accepted, ignored authentication, use after free — through its example, coverage, fuzzing
and stateful phases. The seed and the number of examples are fixed, so a run is repeatable
and its time bounded; a failure prints the `curl` that reproduces it.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SERVICES, Platform, bearer

pytestmark = pytest.mark.e2e

SEED = 20261127
# Per route and generation mode in the fuzzing phase; the coverage phase (every boundary of
# every parameter) does not depend on it and is most of the run (welfare alone, quiet: 3,486
# cases in 53 s at 5, 3,264 in 44 s at 2). 3 rather than 25: the four runs are a fifth of
# make test's work on two cores (431 s of 2,343 in stop 30), and the bar says fewer examples
# per route before fewer routes.
MAX_EXAMPLES = 3
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")  # all checks, one narrow exception


@pytest.fixture(scope="module")
async def live(infra, tmp_path_factory):
    platform = Platform(infra, tmp_path_factory.mktemp("fuzz"))
    async with platform.running() as p:
        yield p


@pytest.mark.parametrize("service", SERVICES)
async def test_schemathesis_finds_nothing(live: Platform, service: str):
    token = bearer("fuzz-admin", ["admin"], ["*"])["Authorization"]
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{live.url(service)}/openapi.json",
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
        "-H",
        f"Authorization: {token}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    report = out.decode(errors="replace")
    assert proc.returncode == 0, f"schemathesis found problems in {service}:\n{report[-12000:]}"
    assert "No issues found" in report or " passed" in report, report[-2000:]
    async with httpx.AsyncClient() as client:  # and the service is still alive afterwards
        assert (await client.get(f"{live.url(service)}/readyz")).status_code == 200

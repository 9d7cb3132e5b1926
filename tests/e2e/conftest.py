"""All four services (and, for the browser tests, the web front end) as separate uvicorn
processes on the real broker, database and SMTP."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from services.welfare.settings import WelfareSettings
from shared.auth import mint_token
from shared.settings import ServiceSettings
from shared.topics import delete_topics, ensure_topics
from tests.e2e.forkserver import Forked, ForkServer
from tests.kafka_tools import wait_until

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("members", "events", "welfare", "notify")
SETTINGS: dict[str, type[ServiceSettings]] = {
    "members": MembersSettings,
    "events": EventsSettings,
    "welfare": WelfareSettings,
    "notify": NotifySettings,
    "web": WebSettings,
}


def listening_socket() -> socket.socket:
    """A socket bound to a free port and listening, for a service to inherit: the port is
    held from the moment it is chosen (a port only picked, then bound by the child, could be
    taken in between by the other pytest worker's platform, and this one would talk to it).

    TCP_NODELAY is set here because uvicorn opens an inherited descriptor as a UNIX socket
    (`socket.fromfd(fd, AF_UNIX, …)`, uvicorn 0.54), so asyncio does not set it on the
    connections it accepts, and Nagle's algorithm with delayed ACKs held small responses
    back (the notify fuzz run: 26 s → 90 s). Linux gives accepted connections the listening
    socket's TCP_NODELAY."""
    sock = socket.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


_FORK_SERVER: list[ForkServer] = []  # this worker's, started with its first platform


def fork_server() -> ForkServer:
    if not _FORK_SERVER:
        _FORK_SERVER.append(ForkServer(REPO))
        atexit.register(_FORK_SERVER[0].close)
    return _FORK_SERVER[0]


class Platform:
    def __init__(self, infra, tmp: Path, services: tuple[str, ...] = SERVICES) -> None:
        self.infra = infra
        self.prefix = f"e{uuid.uuid4().hex[:10]}."
        self.tmp = tmp
        self.services = services
        self.sockets = {name: listening_socket() for name in services}
        self.ports = {name: sock.getsockname()[1] for name, sock in self.sockets.items()}
        self.procs: dict[str, Forked] = {}

    def settings(self, name: str):
        """The same isolated settings the in-process tests use, handed over as environment."""
        from tests.integration.conftest import TEST_SETTINGS

        cls = SETTINGS[name]
        over: dict[str, object] = {k: v for k, v in TEST_SETTINGS.items() if k in cls.model_fields}
        if name == "notify":
            over |= {"smtp_host": self.infra.smtp_host, "smtp_port": self.infra.smtp_port}
            if "web" in self.services:
                over["web_base_url"] = self.url("web")
        if name == "web":
            over |= {
                f"{other}_url": self.url(other)
                for other in ("members", "events", "welfare", "notify")
                if other in self.services
            }
        return cls.isolated(self.prefix, self.infra.kafka_bootstrap, self.infra.mongo_url, **over)

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
        settings = self.settings(name)
        fields = settings.model_dump(exclude_defaults=True, mode="json")
        for key, value in fields.items():
            alias = type(settings).model_fields[key].validation_alias
            env[alias if isinstance(alias, str) else f"GONGHUI_{key.upper()}"] = str(value)
        return env

    def db(self, name: str) -> str:
        return self.settings(name).mongo_db

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        """Each service as `python -m uvicorn services.<name>.main:app --fd N` would run it,
        forked from the worker's fork server (forkserver.py: the imports are paid once)."""
        server = fork_server()
        for name in self.services:
            log = self.tmp / f"{name}.log"
            self.procs[name] = server.start(name, self.env(name), self.sockets[name], log)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Platform]:
        """Started, ready and its organisation defined; terminated and dropped after."""
        await ensure_topics(self.infra.kafka_bootstrap, self.prefix)
        self.start()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await self.wait_ready(client)
                await self.seed_org(client)
            yield self
        finally:
            self.terminate()
            mongo: AsyncMongoClient = AsyncMongoClient(self.infra.mongo_url)
            for name in self.services:
                await mongo.drop_database(self.db(name))
            await mongo.close()
            with contextlib.suppress(Exception):  # the broker's open files (see close_stack)
                await delete_topics(self.infra.kafka_bootstrap, self.prefix)

    async def seed_org(self, client: httpx.AsyncClient) -> None:
        """The organisation the tests enrol into, defined over HTTP as an admin would."""
        from tests.integration.conftest import CAMPUSES, DEPARTMENTS, SMALL_GROUPS

        admin = bearer("e2e-admin", ["admin"], ["*"])
        for code in CAMPUSES:
            body = {"name": f"{code}校区", "departments": DEPARTMENTS, "small_groups": SMALL_GROUPS}
            response = await client.put(
                f"{self.url('members')}/campuses/{code}", json=body, headers=admin
            )
            assert response.status_code == 200, response.text

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    async def wait_ready(self, client: httpx.AsyncClient) -> None:
        for name in self.services:

            async def ready(name=name) -> bool:
                assert self.procs[name].poll() is None, f"{name} died:\n{self.log(name)}"
                try:
                    return (await client.get(f"{self.url(name)}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, 120, f"{name} /readyz")  # a loaded machine: imports, indexes

    def terminate(self) -> dict[str, int | None]:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = None
        for sock in self.sockets.values():
            sock.close()
        return codes


@pytest.fixture
async def platform(infra, tmp_path):
    async with Platform(infra, tmp_path).running() as p:
        yield p


def bearer(subject: str, roles: list[str], campuses: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject, roles, campuses)}"}

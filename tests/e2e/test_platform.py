"""All four services as separate uvicorn processes on the real broker, database and SMTP.

The same flows a person tries by hand after `make run`: a cadre enrols a member over HTTP,
the member reads the welcome in notify's inbox, the welcome e-mail lands in the mailbox,
events and welfare know the member; then SIGTERM stops every service cleanly.
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.welfare.settings import WelfareSettings
from shared.auth import mint_token
from shared.settings import ServiceSettings
from shared.topics import ensure_topics
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("members", "events", "welfare", "notify")
SETTINGS: dict[str, type[ServiceSettings]] = {
    "members": MembersSettings,
    "events": EventsSettings,
    "welfare": WelfareSettings,
    "notify": NotifySettings,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    def __init__(self, infra, tmp: Path) -> None:
        self.infra = infra
        self.prefix = f"e{uuid.uuid4().hex[:10]}."
        self.tmp = tmp
        self.ports = {name: free_port() for name in SERVICES}
        self.procs: dict[str, subprocess.Popen] = {}

    def settings(self, name: str):
        """The same isolated settings the in-process tests use, handed over as environment."""
        cls = SETTINGS[name]
        over = {"smtp_host": self.infra.smtp_host, "smtp_port": self.infra.smtp_port}
        return cls.isolated(
            self.prefix,
            self.infra.kafka_bootstrap,
            self.infra.mongo_url,
            **(over if name == "notify" else {}),
        )

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
        settings = self.settings(name)
        fields = settings.model_dump(exclude_defaults=True, mode="json")
        env.update({f"GONGHUI_{key.upper()}": str(value) for key, value in fields.items()})
        return env

    def db(self, name: str) -> str:
        return self.settings(name).mongo_db

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self) -> None:
        for name in SERVICES:
            log = open(self.tmp / f"{name}.log", "wb")
            self.procs[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{name}.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.ports[name]),
                ],
                cwd=REPO,
                env=self.env(name),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    async def wait_ready(self, client: httpx.AsyncClient) -> None:
        for name in SERVICES:

            async def ready(name=name) -> bool:
                assert self.procs[name].poll() is None, f"{name} died:\n{self.log(name)}"
                try:
                    return (await client.get(f"{self.url(name)}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(ready, 60, f"{name} /readyz")

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
        return codes


@pytest.fixture
async def platform(infra, tmp_path):
    p = Platform(infra, tmp_path)
    await ensure_topics(infra.kafka_bootstrap, p.prefix)
    p.start()
    try:
        yield p
    finally:
        p.terminate()
        client: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
        for name in SERVICES:
            await client.drop_database(p.db(name))
        await client.close()


def bearer(subject: str, roles: list[str], campuses: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject, roles, campuses)}"}


async def test_enrol_member_then_inbox_mail_projections_and_clean_shutdown(platform, infra):
    async with httpx.AsyncClient(timeout=10) as client:
        await platform.wait_ready(client)
        staff_no = f"E2E{uuid.uuid4().hex[:6].upper()}"
        email = f"{staff_no.lower()}@school.local"
        response = await client.post(
            f"{platform.url('members')}/members",
            json={
                "staff_no": staff_no,
                "name": "孙丽",
                "campus": "north",
                "department": "音乐系",
                "email": email,
            },
            headers=bearer("cadre-n", ["cadre"], ["north"]),
        )
        assert response.status_code == 201, response.text
        member_id = response.json()["id"]
        as_member = bearer(member_id, ["member"], ["north"])

        async def welcomed() -> bool:
            r = await client.get(f"{platform.url('notify')}/inbox", headers=as_member)
            return r.status_code == 200 and len(r.json()) == 1

        await wait_until(welcomed, 60, "the welcome in the inbox")
        [message] = (await client.get(f"{platform.url('notify')}/inbox", headers=as_member)).json()
        assert message["title"] == "欢迎加入学校工会" and message["body"].startswith("孙丽，您好！")

        mongo: AsyncMongoClient = AsyncMongoClient(infra.mongo_url)
        try:
            for name in ("events", "welfare"):
                directory = mongo[platform.db(name)]["member_directory"]

                async def known(directory=directory) -> bool:
                    return await directory.find_one({"_id": member_id}) is not None

                await wait_until(known, 60, f"{name} to learn the member")
        finally:
            await mongo.close()

        if infra.maildir:

            async def mailed() -> bool:
                return any(m["To"] == email for m in mailbox.Maildir(infra.maildir))

            await wait_until(mailed, 30, "the welcome e-mail")

        metrics = (await client.get(f"{platform.url('notify')}/metrics")).text
        assert 'outcome="ok"' in metrics and "on_member_joined" in metrics

    codes = await asyncio.to_thread(platform.terminate)
    # uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is -SIGTERM;
    # None would mean the process had to be killed.
    clean = {0, -signal.SIGTERM}
    assert all(code in clean for code in codes.values()), {
        n: platform.log(n)[-2000:] for n in SERVICES
    }
    for name in SERVICES:
        assert "Application shutdown complete" in platform.log(name)
        lines = [
            json.loads(line) for line in platform.log(name).splitlines() if line.startswith("{")
        ]
        assert any(line["msg"] == f"{name} stopped" for line in lines), platform.log(name)[-2000:]

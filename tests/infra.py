"""Which Kafka, MongoDB-wire server and SMTP server a test session uses.

Chosen once per session, in this order:

1. GONGHUI_KAFKA_BOOTSTRAP and GONGHUI_MONGO_URL are set: use them (not controllable: the
   tests never stop that broker). GONGHUI_SMTP_HOST + GONGHUI_SMTP_PORT likewise, else the
   local SMTP catcher is started.
2. A Docker engine answers: testcontainers, Kafka in KRaft mode and mongo:7.0, plus the local
   SMTP catcher.
3. Otherwise the embedded default (deploy.local.infra): Kafka from the Maven jars, FerretDB
   on PostgreSQL (GONGHUI_LOCAL_MONGO_BACKEND=sqlite: on SQLite) and the SMTP catcher as child
   processes, with data in a temporary folder and free ports. GONGHUI_TEST_KEEP_DATA=1 keeps
   that folder (and its logs) after the session.

Each test isolates itself with unique names (`unique_name`): database, topic prefix,
consumer group.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from deploy.local.infra import (
    HOST,
    LocalInfra,
    Ports,
    Postgres,
    SmtpCatcher,
    free_port,
    prepare,
)
from deploy.local.postgres import mongo_backend

# testcontainers' KafkaContainer drives the Confluent image's scripts, so it cannot run the
# apache/kafka image; Confluent Platform 7.9 is Apache Kafka 3.9, the same as the embedded one.
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.4"
MONGO_IMAGE = "mongo:7.0"


def unique_name(prefix: str = "t") -> str:
    """prefix + 12 hex digits: safe as a database name, a topic prefix (add the dot) or a group."""
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@dataclass
class TestInfra:
    """What a test needs to know about the session's infrastructure."""

    __test__ = False  # not a test class, despite the name

    mode: str  # "external" | "docker" | "embedded"
    kafka_bootstrap: str
    mongo_url: str
    smtp_host: str
    smtp_port: int
    maildir: Path | None
    controllable: bool
    # What stores the MongoDB-wire data: "postgresql" / "sqlite" (embedded FerretDB),
    # "mongodb" (Docker) or "external"; `postgres` is the embedded cluster, if any.
    storage: str = "external"
    postgres: Postgres | None = None
    _stop_kafka: Callable[[], Awaitable[None]] | None = None
    _start_kafka: Callable[[], Awaitable[None]] | None = None
    _closers: list[Callable[[], Awaitable[None] | None]] = field(default_factory=list)

    async def stop_kafka(self) -> None:
        if self._stop_kafka is None:
            raise RuntimeError(f"the {self.mode} broker is not controllable")
        await self._stop_kafka()

    async def start_kafka(self) -> None:
        if self._start_kafka is None:
            raise RuntimeError(f"the {self.mode} broker is not controllable")
        await self._start_kafka()

    async def close(self) -> None:
        while self._closers:
            result = self._closers.pop()()
            if result is not None:
                await result


def _say(message: str) -> None:
    print(message, file=sys.__stderr__, flush=True)  # visible through pytest's capture


def docker_available() -> bool:
    if shutil.which("docker"):
        try:
            if subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0:
                return True
        except (subprocess.TimeoutExpired, OSError):
            pass
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


async def _start_smtp(root: Path, closers: list) -> SmtpCatcher:
    smtp = SmtpCatcher(root / "mail", free_port())
    closers.append(smtp.stop)
    atexit.register(smtp.kill)
    await smtp.start(30)
    return smtp


def _temp_root(closers: list) -> Path:
    root = Path(tempfile.mkdtemp(prefix="gonghui-test-"))
    # mkdtemp makes it 0700; PostgreSQL runs as another user when we are root (CI) and must
    # get through to its data folder (it cannot list the others).
    root.chmod(0o711)
    if os.environ.get("GONGHUI_TEST_KEEP_DATA", "") in ("", "0"):
        closers.append(lambda: shutil.rmtree(root, ignore_errors=True))
    else:
        _say(f"gonghui tests: infrastructure data and logs kept in {root}")
    return root


async def _external() -> TestInfra:
    closers: list = []
    host, port = os.environ.get("GONGHUI_SMTP_HOST"), os.environ.get("GONGHUI_SMTP_PORT")
    maildir = None
    if not (host and port):
        smtp = await _start_smtp(_temp_root(closers), closers)
        host, port, maildir = HOST, str(smtp.port), smtp.maildir
    return TestInfra(
        mode="external",
        kafka_bootstrap=os.environ["GONGHUI_KAFKA_BOOTSTRAP"],
        mongo_url=os.environ["GONGHUI_MONGO_URL"],
        smtp_host=host,
        smtp_port=int(port),
        maildir=maildir,
        controllable=False,
        _closers=closers,
    )


async def _docker() -> TestInfra:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.mongodb import MongoDbContainer

    closers: list = []
    try:
        kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
        kafka.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")  # as in production
        kafka.start(timeout=120)
        closers.append(kafka.stop)
        mongo = MongoDbContainer(MONGO_IMAGE)
        mongo.start()
        closers.append(mongo.stop)
        smtp = await _start_smtp(_temp_root(closers), closers)
    except BaseException:
        await TestInfra("docker", "", "", "", 0, None, False, _closers=closers).close()
        raise
    return TestInfra(
        mode="docker",
        kafka_bootstrap=kafka.get_bootstrap_server(),
        mongo_url=mongo.get_connection_url(),
        smtp_host=HOST,
        smtp_port=smtp.port,
        maildir=smtp.maildir,
        controllable=False,
        storage="mongodb",
        _closers=closers,
    )


async def _embedded() -> TestInfra:
    closers: list = []
    root = _temp_root(closers)
    backend = mongo_backend()
    local = LocalInfra(root, prepare(say=_say, backend=backend), Ports.free(), backend=backend)
    atexit.register(local.kill)  # if the session dies without its teardown
    try:
        await local.start(topic_prefix=None)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    closers.append(local.stop)
    return TestInfra(
        mode="embedded",
        kafka_bootstrap=local.kafka_bootstrap,
        mongo_url=local.mongo_url,
        smtp_host=local.smtp_host,
        smtp_port=local.smtp_port,
        maildir=local.maildir,
        controllable=True,
        storage=backend,
        postgres=local.postgres,
        _stop_kafka=local.stop_kafka,
        _start_kafka=local.start_kafka,
        _closers=closers,
    )


async def start_test_infra() -> TestInfra:
    if os.environ.get("GONGHUI_KAFKA_BOOTSTRAP") and os.environ.get("GONGHUI_MONGO_URL"):
        return await _external()
    if docker_available():
        return await _docker()
    return await _embedded()

"""The embedded infrastructure as child processes: Kafka (KRaft), PostgreSQL, FerretDB and an
SMTP catcher. Kafka's classes live in deploy/local/kafka.py (one broker, or a cluster).

Each process class takes a data folder and ports, starts its program with stdout/stderr in a
log file (default: in the data folder), waits until it answers (Kafka: admin metadata;
PostgreSQL: pg_isready; FerretDB: `ping`; SMTP: a TCP connect), and stops it (SIGTERM, for
PostgreSQL SIGINT), then SIGKILL after a timeout. Kafka can be stopped and started again on
the same data.

FerretDB stores its data in PostgreSQL (deploy/local/postgres.py) unless the backend is
`sqlite` (GONGHUI_LOCAL_MONGO_BACKEND): then in SQLite files and no PostgreSQL runs.

Children run in their own process group (so Ctrl-C in the terminal reaches only the
launcher, which stops them in order) and, on Linux, get SIGTERM from the kernel when the
thread that started them dies (PR_SET_PDEATHSIG), so nothing outlives a killed launcher.
Start them from the main thread.

    paths = prepare()                      # fetch Kafka, build FerretDB, install PostgreSQL (once)
    infra = LocalInfra(Path("var"), paths, ports=Ports.free())
    await infra.start()                    # also creates the declared topics
    ...
    await infra.stop()
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.local.kafka import Kafka
from deploy.local.postgres import CLIENT_MAX_POOL_SIZE, DEFAULT_BACKEND, Postgres
from deploy.local.prepare import Paths, cache_paths, check_prerequisites, prepare
from deploy.local.process import (
    HOST,
    InfraError,
    ManagedProcess,
    PrerequisiteError,
    free_port,
    port_in_use,
    tcp_open,
)

__all__ = [
    "HOST",
    "FerretDB",
    "InfraError",
    "Kafka",
    "LocalInfra",
    "ManagedProcess",
    "Paths",
    "Postgres",
    "PrerequisiteError",
    "SmtpCatcher",
    "cache_paths",
    "check_prerequisites",
    "free_port",
    "port_in_use",
    "prepare",
]


class FerretDB(ManagedProcess):
    """FerretDB (MongoDB wire protocol) on PostgreSQL, or on SQLite files in the data folder.

    With `postgres` given it runs the `postgresql` handler on that cluster (started first);
    without, the `sqlite` handler.
    """

    name = "ferretdb"

    def __init__(
        self,
        data_dir: Path,
        port: int,
        binary: Path,
        log_dir: Path | None = None,
        postgres: Postgres | None = None,
    ) -> None:
        super().__init__(data_dir, log_dir)
        self.port = port
        self.binary = Path(binary).resolve()
        self.postgres = postgres

    @property
    def url(self) -> str:
        """The URL for clients; on PostgreSQL it caps each client's connections (maxPoolSize),
        so that FerretDB never runs more operations at once than its pool can carry (see
        CLIENT_MAX_POOL_SIZE)."""
        if self.postgres is None:
            return f"mongodb://{HOST}:{self.port}/"
        return f"mongodb://{HOST}:{self.port}/?maxPoolSize={CLIENT_MAX_POOL_SIZE}"

    @property
    def backend(self) -> str:
        return "sqlite" if self.postgres is None else "postgresql"

    def before_start(self) -> None:
        if self.postgres is None:
            (self.data_dir / "sqlite").mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str] | None:
        if self.postgres is None:
            return None
        # In the environment, not on the command line: the URL holds the password, and any
        # user can read another's command line (ps), not its environment.
        return {**os.environ, "FERRETDB_POSTGRESQL_URL": self.postgres.url}

    def command(self) -> list[str]:
        if self.postgres is None:
            storage = [
                "--handler=sqlite",
                f"--sqlite-url=file:{self.data_dir / 'sqlite'}/",  # the trailing slash matters
            ]
        else:
            storage = ["--handler=postgresql"]
        return [
            str(self.binary),
            *storage,
            f"--listen-addr={HOST}:{self.port}",
            f"--state-dir={self.data_dir}",
            "--telemetry=disable",
            "--debug-addr=-",  # no metrics listener on a fixed port
            "--log-level=warn",
        ]

    async def healthy(self) -> bool:
        from pymongo import AsyncMongoClient

        client: AsyncMongoClient = AsyncMongoClient(
            self.url, serverSelectionTimeoutMS=1000, connectTimeoutMS=1000, directConnection=True
        )
        try:
            await client.admin.command("ping")
            return True
        except Exception:
            return False
        finally:
            await client.close()


class SmtpCatcher(ManagedProcess):
    """aiosmtpd storing every message it receives in a Maildir (the data folder)."""

    name = "smtp"

    def __init__(
        self, data_dir: Path, port: int, log_dir: Path | None = None, python: str = sys.executable
    ) -> None:
        super().__init__(data_dir, log_dir)
        self.port = port
        self.python = python

    @property
    def maildir(self) -> Path:
        return self.data_dir

    def before_start(self) -> None:
        for sub in ("cur", "new", "tmp"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        return [
            self.python,
            "-m",
            "aiosmtpd",
            "-n",
            "-u",  # SMTPUTF8: notices are Chinese
            "-l",
            f"{HOST}:{self.port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(self.maildir),
        ]

    async def healthy(self) -> bool:
        return await tcp_open(self.port)


@dataclass(frozen=True)
class Ports:
    kafka: int
    kafka_controller: int
    mongo: int
    smtp: int
    postgres: int = 5433  # not 5432: that is a system PostgreSQL's (Debian's own cluster)

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port())


class LocalInfra:
    """The processes together, with data under one root folder.

    root/kafka, root/postgres (backend `postgresql`), root/ferretdb, root/mail (the Maildir);
    logs in log_dir (default: each process's data folder). PostgreSQL starts first and gets
    its database and GIN twins (Postgres.setup) before FerretDB starts on it; Kafka and the
    SMTP catcher start meanwhile.
    """

    def __init__(
        self,
        root: Path,
        paths: Paths,
        ports: Ports,
        log_dir: Path | None = None,
        kafka_heap: str = "512m",
        backend: str = DEFAULT_BACKEND,
        postgres: Postgres | None = None,
    ) -> None:
        root = Path(root).resolve()
        self.root = root
        self.ports = ports
        self.backend = backend
        if backend == "postgresql" and postgres is None:
            postgres = Postgres(root / "postgres", ports.postgres, log_dir=log_dir)
        self.postgres = postgres if backend == "postgresql" else None
        self.kafka = Kafka(
            root / "kafka",
            ports.kafka,
            ports.kafka_controller,
            paths.kafka_libs,
            log_dir=log_dir,
            heap=kafka_heap,
        )
        self.ferretdb = FerretDB(
            root / "ferretdb", ports.mongo, paths.ferretdb, log_dir=log_dir, postgres=self.postgres
        )
        self.smtp = SmtpCatcher(root / "mail", ports.smtp, log_dir=log_dir)

    @property
    def processes(self) -> list[ManagedProcess]:
        storage = [self.postgres] if self.postgres else []
        return [self.kafka, *storage, self.ferretdb, self.smtp]

    kafka_bootstrap = property(lambda self: self.kafka.bootstrap)
    mongo_url = property(lambda self: self.ferretdb.url)
    smtp_host = HOST
    smtp_port = property(lambda self: self.smtp.port)
    maildir = property(lambda self: self.smtp.maildir)

    async def start(
        self, timeout_s: float = 120, topic_prefix: str | None = "", say=lambda _msg: None
    ) -> None:
        """Start them, wait until each answers, then create the topics.

        topic_prefix=None skips topic creation.
        """
        try:
            for p in (self.kafka, self.smtp):
                p.launch()
            await asyncio.gather(
                self._start_storage(timeout_s, say),
                *(self._wait(p, timeout_s, say) for p in (self.kafka, self.smtp)),
            )
            if topic_prefix is not None:
                from shared.topics import ensure_topics

                created = await ensure_topics(self.kafka_bootstrap, topic_prefix)
                if created:
                    say(f"  topics created: {', '.join(created)}")
        except BaseException:
            await self.stop()
            raise

    async def _start_storage(self, timeout_s: float, say) -> None:
        """PostgreSQL (if any) until it answers and is set up, then FerretDB on it."""
        pg = self.postgres
        if pg is not None:
            t0 = time.monotonic()
            pg.launch()
            await pg.wait_healthy(timeout_s)
            await pg.setup()
            what = "initdb + start" if pg.cold_start else "start"
            twins = f", {pg.twins_added} GIN twins added" if pg.twins_added else ""
            say(
                f"  postgres {pg.version} ready in {time.monotonic() - t0:.1f}s "
                f"({what}{twins}; pid {pg.pid})"
            )
        self.ferretdb.launch()
        await self._wait(self.ferretdb, timeout_s, say)

    @staticmethod
    async def _wait(p: ManagedProcess, timeout_s: float, say) -> None:
        t0 = time.monotonic()
        await p.wait_healthy(timeout_s)
        say(f"  {p.name} ready in {time.monotonic() - t0:.1f}s (pid {p.pid})")

    async def stop(self, timeout_s: float = 30) -> None:
        await asyncio.gather(
            self.kafka.stop(timeout_s), self.smtp.stop(timeout_s), self.stop_storage(timeout_s)
        )

    async def stop_storage(self, timeout_s: float = 30) -> None:
        """FerretDB first: PostgreSQL then has no client left to wait for."""
        await self.ferretdb.stop(timeout_s)
        if self.postgres is not None:
            await self.postgres.stop(timeout_s)

    def kill(self) -> None:
        for p in self.processes:
            p.kill()

    async def stop_kafka(self) -> None:
        await self.kafka.stop()

    async def start_kafka(self, timeout_s: float = 90) -> None:
        await self.kafka.start(timeout_s)

"""The embedded infrastructure as child processes: Kafka (KRaft), PostgreSQL, FerretDB and an
SMTP catcher.

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
import base64
import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from deploy.local.postgres import CLIENT_MAX_POOL_SIZE, DEFAULT_BACKEND, Postgres
from deploy.local.prepare import (
    KAFKA_LOG4J,
    Paths,
    PrerequisiteError,
    cache_paths,
    check_prerequisites,
    prepare,
)
from deploy.local.process import (
    HOST,
    InfraError,
    ManagedProcess,
    free_port,
    port_in_use,
    tcp_open,
)

__all__ = [
    "HOST",
    "FerretDB",
    "InfraError",
    "Kafka",
    "KafkaCluster",
    "KafkaNode",
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


def _kafka_uuid() -> str:
    """A cluster id as `kafka-storage random-uuid` prints it (base64url, no padding)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class Kafka(ManagedProcess):
    """A single-node KRaft broker+controller from the jars in `.cache/kafka/libs`."""

    name = "kafka"

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        libs: Path,
        log_dir: Path | None = None,
        heap: str = "512m",
        java: str = "java",
    ) -> None:
        super().__init__(data_dir, log_dir)
        self.port = port
        self.controller_port = controller_port
        self.libs = Path(libs).resolve()
        self.heap = heap
        self.java = java
        # None: a fresh id at the first format. The nodes of a cluster share one.
        self.cluster_id: str | None = None

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def properties_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_dirs(self) -> Path:
        return self.data_dir / "data"

    def settings(self) -> dict[str, str]:
        """server.properties as a mapping (KafkaNode changes a few for a cluster)."""
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            # The default 50 partitions make the first consumer group wait for seconds.
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "4",
            "group.initial.rebalance.delay.ms": "0",
        }

    def properties(self) -> str:
        return "".join(f"{k}={v}\n" for k, v in self.settings().items())

    def _java(self, main: str, *args: str, jvm: tuple[str, ...] = ()) -> list[str]:
        return [
            self.java,
            *jvm,
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{KAFKA_LOG4J}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def before_start(self) -> None:
        if not any(self.libs.glob("kafka_2.13-*.jar")):
            raise InfraError(f"no Kafka jars in {self.libs}; run prepare() first")
        self.properties_file.write_text(self.properties())
        if (self.log_dirs / "meta.properties").exists():
            return  # formatted before: keep the data
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id or _kafka_uuid(),
            "-c",
            str(self.properties_file),
            jvm=("-Xmx256m",),
        )
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise InfraError(f"kafka storage format failed:\n{result.stdout}{result.stderr}")

    def command(self) -> list[str]:
        jvm = (
            f"-Xmx{self.heap}",
            f"-Xms{self.heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
        )
        return self._java("kafka.Kafka", str(self.properties_file), jvm=jvm)

    async def healthy(self) -> bool:
        from aiokafka.admin import AIOKafkaAdminClient

        if not await tcp_open(self.port):
            return False  # not listening yet: don't make aiokafka log connection errors
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()


class KafkaNode(Kafka):
    """One broker+controller of a KafkaCluster: its own node id, the cluster's voters and id.

    Kafka's internal topics (consumer offsets, transaction state) get three replicas, as on a
    production cluster, so a consumer group survives the loss of one broker. The broker-wide
    `min.insync.replicas` stays at Kafka's default of 1: Gonghui sets it on each topic it
    creates (shared/topics.py), and the cluster tests check exactly that.
    """

    def __init__(
        self,
        node_id: int,
        data_dir: Path,
        port: int,
        controller_port: int,
        voters: str,
        cluster_id: str,
        libs: Path,
        heap: str = "256m",
        java: str = "java",
    ) -> None:
        # No shared log folder: Kafka's own kafka-server.log goes to the log folder, and
        # three brokers must not write one file.
        super().__init__(data_dir, port, controller_port, libs, heap=heap, java=java)
        self.node_id = node_id
        self.name = f"kafka-{node_id}"
        self.voters = voters
        self.cluster_id = cluster_id

    def settings(self) -> dict[str, str]:
        return {
            **super().settings(),
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            "offsets.topic.replication.factor": "3",
            "transaction.state.log.replication.factor": "3",
            "transaction.state.log.min.isr": "2",
        }


class KafkaCluster:
    """`size` KRaft nodes, each broker and controller, from the same jars as `Kafka`.

    Node ids 1..size, every node a voter of the controller quorum, free ports, data under
    root/kafka-<id>/ (its log is kafka-<id>.log there). Used by the cluster tests and the
    drill (deploy/drill.py); `make run` keeps the single broker.

        cluster = KafkaCluster(Path(tmp), paths.kafka_libs)
        await cluster.start()            # every broker registered
        cluster.bootstrap                # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
        await cluster.node(2).stop()     # or .proc.kill() for a hard crash
        await cluster.stop()
    """

    def __init__(
        self, root: Path, libs: Path, size: int = 3, heap: str = "256m", java: str = "java"
    ) -> None:
        if size < 3:
            raise ValueError("a cluster here means three or more nodes (a 3-voter quorum)")
        self.root = Path(root).resolve()
        ports = _distinct_free_ports(2 * size)
        clients, controllers = ports[:size], ports[size:]
        voters = ",".join(f"{i + 1}@{HOST}:{port}" for i, port in enumerate(controllers))
        cluster_id = _kafka_uuid()
        self.nodes = [
            KafkaNode(
                i + 1,
                self.root / f"kafka-{i + 1}",
                clients[i],
                controllers[i],
                voters,
                cluster_id,
                libs,
                heap=heap,
                java=java,
            )
            for i in range(size)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    def node(self, node_id: int) -> KafkaNode:
        return self.nodes[node_id - 1]

    async def start(self, timeout_s: float = 120) -> None:
        """Start every node (a quorum needs a majority, so all at once) and wait until all
        brokers are registered: a topic with three replicas cannot be created before."""
        try:
            for n in self.nodes:
                n.launch()
            await asyncio.gather(*(n.wait_healthy(timeout_s) for n in self.nodes))
            await self.wait_brokers(len(self.nodes), timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def wait_brokers(self, count: int, timeout_s: float = 60) -> None:
        """Wait until the cluster metadata lists `count` live brokers."""
        deadline = time.monotonic() + timeout_s
        while (seen := await self.live_brokers()) != count:
            if time.monotonic() > deadline:
                raise InfraError(
                    f"Kafka 集群只有 {seen}/{count} 个 broker / only {seen} of {count} brokers "
                    f"registered after {timeout_s:.0f}s; 日志 logs: {self.root}/kafka-*/"
                )
            await asyncio.sleep(0.5)

    async def live_brokers(self) -> int:
        from aiokafka.admin import AIOKafkaAdminClient

        running = ",".join(n.bootstrap for n in self.nodes if n.running)
        if not running:
            return 0
        admin = AIOKafkaAdminClient(bootstrap_servers=running, request_timeout_ms=3000)
        try:
            await admin.start()
            return len((await admin.describe_cluster())["brokers"])
        except Exception:
            return 0
        finally:
            with contextlib.suppress(Exception):
                await admin.close()

    async def stop(self, timeout_s: float = 30) -> None:
        await asyncio.gather(*(n.stop(timeout_s) for n in self.nodes))

    def kill(self) -> None:
        for n in self.nodes:
            n.kill()


def _distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports (free_port() twice in a row may give the same one)."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


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

"""Kafka as child processes: a single KRaft broker+controller (`make run`, the tests) and a
cluster of three or more such nodes (the cluster tests and the drill).

Each node runs from the jars `prepare()` fetched into `.cache/kafka/libs`, formats its data
folder once (a kept folder keeps its data), logs to its log folder, and counts as healthy when
an admin client gets the topic list. See deploy/local/infra.py for the other processes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import time
import uuid
from pathlib import Path

from deploy.local.prepare import KAFKA_LOG4J
from deploy.local.process import HOST, InfraError, ManagedProcess, free_port, tcp_open

__all__ = ["Kafka", "KafkaCluster", "KafkaNode"]


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
            # A deleted topic's files (test and bench runs delete theirs) are closed and
            # removed after a second instead of a minute: the broker's open files stay few.
            "file.delete.delay.ms": "1000",
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

"""Where the local launcher puts things and which ports it uses (GONGHUI_LOCAL_* variables).

| variable | default | meaning |
| --- | --- | --- |
| GONGHUI_LOCAL_VAR | `var/` in the repo | data (kafka/, postgres/, ferretdb/, mail/), logs/, run.lock |
| GONGHUI_LOCAL_CACHE | `.cache/` in the repo | Kafka jars and the FerretDB binary (built once) |
| GONGHUI_LOCAL_MONGO_BACKEND | postgresql | FerretDB's storage: `postgresql` or `sqlite` |
| GONGHUI_LOCAL_KAFKA_PORT | 9092 | Kafka client listener (bootstrap) |
| GONGHUI_LOCAL_KAFKA_CONTROLLER_PORT | 9093 | Kafka KRaft controller listener |
| GONGHUI_LOCAL_MONGO_PORT | 27017 | FerretDB (MongoDB wire protocol) |
| GONGHUI_LOCAL_POSTGRES_PORT | 5433 | PostgreSQL under FerretDB (127.0.0.1; 5432 is left to a system one) |
| GONGHUI_LOCAL_SMTP_PORT | 1025 | SMTP catcher (mail goes to the Maildir var/mail) |
| GONGHUI_LOCAL_MEMBERS_PORT | 8001 | members service HTTP |
| GONGHUI_LOCAL_EVENTS_PORT | 8002 | events service HTTP |
| GONGHUI_LOCAL_WELFARE_PORT | 8003 | welfare service HTTP |
| GONGHUI_LOCAL_NOTIFY_PORT | 8004 | notify service HTTP |
| GONGHUI_LOCAL_WEB_PORT | 8000 | web front end (the pages people open) |
| GONGHUI_LOCAL_KAFKA_HEAP | 512m | Kafka JVM heap (-Xmx/-Xms) |
| GONGHUI_LOCAL_READY_TIMEOUT_S | 90 | seconds each process may take to become ready |
| GONGHUI_LOCAL_DEMO | 1 | 0 skips the demo members that `run` enrols |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from deploy.local.infra import Ports
from deploy.local.postgres import BackendError, mongo_backend
from deploy.local.prepare import REPO_ROOT

SERVICES = ("members", "events", "welfare", "notify", "web")
SERVICE_TITLES = {
    "members": "会员",
    "events": "活动",
    "welfare": "福利",
    "notify": "通知",
    "web": "网页",
}
DEFAULT_SERVICE_PORTS = {
    "members": 8001,
    "events": 8002,
    "welfare": 8003,
    "notify": 8004,
    "web": 8000,
}


class ConfigError(ValueError):
    pass


def _port(var: str, default: int) -> int:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ConfigError(f"{var}={raw!r}: 不是有效端口 / not a valid port (1-65535)")
    return port


@dataclass(frozen=True)
class LocalConfig:
    var: Path
    ports: Ports
    service_ports: dict[str, int]
    kafka_heap: str
    ready_timeout_s: float
    demo: bool
    mongo_backend: str = "postgresql"

    @classmethod
    def from_env(cls) -> LocalConfig:
        var = Path(os.environ.get("GONGHUI_LOCAL_VAR") or REPO_ROOT / "var").resolve()
        ports = Ports(
            kafka=_port("GONGHUI_LOCAL_KAFKA_PORT", 9092),
            kafka_controller=_port("GONGHUI_LOCAL_KAFKA_CONTROLLER_PORT", 9093),
            mongo=_port("GONGHUI_LOCAL_MONGO_PORT", 27017),
            smtp=_port("GONGHUI_LOCAL_SMTP_PORT", 1025),
            postgres=_port("GONGHUI_LOCAL_POSTGRES_PORT", 5433),
        )
        try:
            backend = mongo_backend()
        except BackendError as exc:
            raise ConfigError(str(exc)) from None
        service_ports = {
            name: _port(f"GONGHUI_LOCAL_{name.upper()}_PORT", default)
            for name, default in DEFAULT_SERVICE_PORTS.items()
        }
        try:
            timeout = float(os.environ.get("GONGHUI_LOCAL_READY_TIMEOUT_S") or 90)
        except ValueError as exc:
            raise ConfigError("GONGHUI_LOCAL_READY_TIMEOUT_S must be a number of seconds") from exc
        config = cls(
            var=var,
            ports=ports,
            service_ports=service_ports,
            kafka_heap=os.environ.get("GONGHUI_LOCAL_KAFKA_HEAP") or "512m",
            ready_timeout_s=timeout,
            demo=os.environ.get("GONGHUI_LOCAL_DEMO", "1").strip().lower()
            not in ("0", "false", "no", "off"),
            mongo_backend=backend,
        )
        seen: dict[int, str] = {}
        for what, port in config.named_ports(services=True):
            if port in seen:
                raise ConfigError(
                    f"端口 {port} 同时配置给了 {seen[port]} 和 {what} / "
                    f"port {port} is configured for both {seen[port]} and {what}"
                )
            seen[port] = what
        return config

    def named_ports(self, services: bool) -> list[tuple[str, int]]:
        """(what, port) pairs, `what` naming the variable that changes it."""
        pairs = [
            ("Kafka (GONGHUI_LOCAL_KAFKA_PORT)", self.ports.kafka),
            ("Kafka controller (GONGHUI_LOCAL_KAFKA_CONTROLLER_PORT)", self.ports.kafka_controller),
            ("FerretDB (GONGHUI_LOCAL_MONGO_PORT)", self.ports.mongo),
            ("SMTP (GONGHUI_LOCAL_SMTP_PORT)", self.ports.smtp),
        ]
        if self.mongo_backend == "postgresql":
            pairs.append(("PostgreSQL (GONGHUI_LOCAL_POSTGRES_PORT)", self.ports.postgres))
        if services:
            pairs += [
                (f"{name} (GONGHUI_LOCAL_{name.upper()}_PORT)", port)
                for name, port in self.service_ports.items()
            ]
        return pairs

    @property
    def logs(self) -> Path:
        return self.var / "logs"

    @property
    def lock_file(self) -> Path:
        return self.var / "run.lock"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[name]}"

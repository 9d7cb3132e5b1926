"""One settings object per service, read from GONGHUI_* environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
DEV_KEYS = REPO_ROOT / "deploy" / "dev-keys"
DEV_PRIVATE_KEY = DEV_KEYS / "dev-signing.pem"
DEV_PUBLIC_KEY = DEV_KEYS / "dev-signing.pub.pem"
DEV_DATA_KEY = DEV_KEYS / "dev-data.key"
DEV_LINK_PRIVATE_KEY = DEV_KEYS / "dev-link.pem"  # notify opens what members seals for it
DEV_LINK_PUBLIC_KEY = DEV_KEYS / "dev-link.pub.pem"
DEV_WEB_KEY = DEV_KEYS / "dev-web.key"  # web seals its sessions' tokens and the uploads
DEV_WEBHOOK_KEY = DEV_KEYS / "dev-webhook.key"  # notify seals webhook signing secrets
DEV_KEY_FILES = (
    DEV_PRIVATE_KEY,
    DEV_PUBLIC_KEY,
    DEV_DATA_KEY,
    DEV_LINK_PRIVATE_KEY,
    DEV_LINK_PUBLIC_KEY,
    DEV_WEB_KEY,
    DEV_WEBHOOK_KEY,
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


KEYGEN = "gonghui keygen --out /etc/gonghui/keys"


def no_keys_of_its_own(service: str, why: str) -> str:
    """Why a service refuses to start, and the one command that makes its keys."""
    return (
        f"{service} 拒绝启动：没有自己的密钥 / refuses to start without keys of its own: {why}.\n"
        f"Make them once with `{KEYGEN}` and set the GONGHUI_*_FILE variables it prints "
        "(GONGHUI_ENV=development or test runs on the development keys, for a developer's "
        "machine and the test suite only)."
    )


class ServiceSettings(BaseSettings):
    """What every Gonghui service reads. Subclasses add their own fields."""

    model_config = SettingsConfigDict(env_prefix="GONGHUI_", extra="ignore")

    service: ClassVar[str] = "gonghui"

    # Fail closed: a deployment that forgets this setting is production, and production starts
    # only on keys of its own (`gonghui keygen`), never on the checked-in development keys.
    env: Environment = Field(
        Environment.production,
        description="production (the default) / development / test; only development and test "
        "start on the checked-in development keys",
    )
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    mongo_url: str = Field("mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_db: str = Field("", description="database name; empty means gonghui_<service>")
    topic_prefix: str = Field("", description="prefix for every topic name (isolates tests)")
    consumer_group: str = Field(
        "", description="Kafka consumer group; empty means gonghui-<service>"
    )
    auth_public_key_file: Path = Field(
        DEV_PUBLIC_KEY, description="PEM public key (Ed25519) that verifies bearer tokens"
    )
    auth_issuer: str = Field("gonghui-members", description="expected `iss` of bearer tokens")
    handler_max_attempts: int = Field(
        5, ge=1, description="tries per message before it goes to <topic>.dlq"
    )
    handler_retry_backoff_ms: int = Field(
        200, ge=0, description="first retry delay, doubled each try"
    )
    handler_wait_max_s: float = Field(
        60.0,
        gt=0,
        description="longest pause between tries while a channel (SMTP, WeCom, SMS) is down",
    )
    # Every write wakes its relay at once; the poll only picks up what another replica or a
    # crashed process left. On FerretDB/SQLite each poll scans the collection, so not often.
    outbox_poll_ms: int = Field(
        10_000, ge=50, description="how often the outbox relay looks for events left behind"
    )
    job_tick_s: float = Field(
        15.0, gt=0, description="how often scheduled jobs are checked for a due slot"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="log level for the JSON logs"
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="replication factor of topics this service creates (3 on a cluster)"
    )

    @model_validator(mode="after")
    def _fill_defaults_and_refuse_dev_secrets(self) -> ServiceSettings:
        if not self.mongo_db:
            self.mongo_db = f"gonghui_{self.service}"
        if not self.consumer_group:
            self.consumer_group = f"gonghui-{self.service}"
        if self.env not in (Environment.development, Environment.test):
            # Compare contents, not paths: a copy of the dev key mounted elsewhere is still public.
            dev_keys = {k.read_bytes().strip() for k in DEV_KEY_FILES}
            for key in self._secret_files():
                if key.is_file() and key.read_bytes().strip() in dev_keys:
                    raise ValueError(
                        no_keys_of_its_own(self.service, f"{key} is the checked-in development key")
                    )
        return self

    def _secret_files(self) -> list[Path]:
        # The bare settings are the command line's (`gonghui topics`, `dlq`): no token to check.
        return [] if type(self) is ServiceSettings else [self.auth_public_key_file]

    @classmethod
    def isolated(cls, prefix: str, kafka_bootstrap: str, mongo_url: str, **over: Any) -> Self:
        """Settings for one isolated run (a test, a benchmark) sharing the servers with others:
        its own database, topic prefix and consumer group, all derived from `prefix`."""
        name = prefix.rstrip(".").replace(".", "_")
        values: dict[str, Any] = {
            "kafka_bootstrap": kafka_bootstrap,
            "mongo_url": mongo_url,
            "mongo_db": f"{name}_{cls.service}",
            "topic_prefix": prefix,
            "consumer_group": f"{prefix}{cls.service}",
            # What the sweep picks up is at least the grace (5 s) old anyway; a sweep every
            # 200 ms was most of an idle test stack's reads.
            "outbox_poll_ms": 1000,
        }
        return cls(**{**values, **over})

    def topic(self, name: str) -> str:
        """The physical topic name for a declared topic (adds the prefix)."""
        return f"{self.topic_prefix}{name}"

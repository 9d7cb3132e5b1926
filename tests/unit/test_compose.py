"""docker-compose.yml and deploy/Dockerfile agree with the code; no Docker engine needed.

The environment variables come from the settings classes themselves (pydantic-settings field
names plus `env_prefix`), so a renamed field, a typo in compose or a variable set on a
service that does not read it fails here instead of being silently ignored in a container.
"""

from __future__ import annotations

import os
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from deploy import cli
from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from services.welfare.settings import WelfareSettings
from shared.keys import KEYS, ensure_keys
from shared.settings import DEV_KEYS, ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"

# The four services, their settings classes and the host port compose publishes them on.
SERVICES: dict[str, type[ServiceSettings]] = {
    "members": MembersSettings,
    "events": EventsSettings,
    "welfare": WelfareSettings,
    "notify": NotifySettings,
    "web": WebSettings,
}
HOST_PORTS = {"members": 8001, "events": 8002, "welfare": 8003, "notify": 8004, "web": 8000}
CONTAINER_PORT = 8000
# The one-shot topic creator runs `gonghui topics`, which reads the base ServiceSettings; the
# key maker `gonghui keygen` reads no setting (the base class stands for "none of a service's").
ONE_SHOTS: dict[str, type[BaseSettings]] = {"topics": ServiceSettings, "keygen": ServiceSettings}
INFRASTRUCTURE = {"kafka", "mongo", "mailpit"}

# Variables whose code default (127.0.0.1) is wrong inside a container.
NEEDS_VALUE = {"GONGHUI_KAFKA_BOOTSTRAP", "GONGHUI_MONGO_URL"}
NEEDS_VALUE_PER_SERVICE = {
    "notify": {"GONGHUI_SMTP_HOST", "GONGHUI_SMTP_PORT"},
    "topics": {"GONGHUI_KAFKA_BOOTSTRAP"},
    "web": {
        "GONGHUI_WEB_MEMBERS_URL",
        "GONGHUI_WEB_EVENTS_URL",
        "GONGHUI_WEB_NOTIFY_URL",
        "GONGHUI_WEB_WELFARE_URL",
    },
}

DEPENDS_ON_CONDITIONS = {
    "service_started",
    "service_healthy",
    "service_completed_successfully",
}


# --- what a settings class reads -------------------------------------------------------------


def env_var_names(settings_cls: type[BaseSettings]) -> set[str]:
    """The environment variables a pydantic-settings class reads, upper-cased.

    A field is read from `env_prefix + field name`, unless it has an alias: then from the alias
    (pydantic-settings does not prefix aliases). Matching is case-insensitive by default.
    """
    assert not settings_cls.model_config.get("case_sensitive"), "compare names case-sensitively"
    prefix = settings_cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in settings_cls.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def test_env_var_names_follow_prefix_and_field_names():
    names = env_var_names(NotifySettings)
    assert {"GONGHUI_KAFKA_BOOTSTRAP", "GONGHUI_MONGO_URL", "GONGHUI_SMTP_HOST"} <= names
    assert "GONGHUI_AUTH_PRIVATE_KEY_FILE" in env_var_names(MembersSettings)
    assert "GONGHUI_AUTH_PRIVATE_KEY_FILE" not in names
    assert "GONGHUI_SMTP_HOST" not in env_var_names(MembersSettings)


# --- reading the compose file ----------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def environment(definition: dict[str, Any]) -> dict[str, Any]:
    """`environment:` as a mapping, whether written as a mapping or as a list of KEY=VALUE."""
    env = definition.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env)


def depends_on(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    deps = definition.get("depends_on") or {}
    if isinstance(deps, list):  # short syntax: no condition at all
        return {name: {} for name in deps}
    return {name: (spec or {}) for name, spec in deps.items()}


def published_ports(definition: dict[str, Any]) -> dict[int, int]:
    """container port -> host port."""
    ports: dict[int, int] = {}
    for port in definition.get("ports") or []:
        if isinstance(port, dict):
            ports[int(port["target"])] = int(port["published"])
        else:
            *_, host, target = str(port).split(":")
            ports[int(target.split("/")[0])] = int(host)
    return ports


def image_tag(ref: str) -> str | None:
    """The tag of an image reference (`registry:5000/name:tag@digest`), or None."""
    ref = ref.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def one_shot_services() -> set[str]:
    """Services something waits on to *complete*: they exit instead of running."""
    return {
        dep
        for definition in compose()["services"].values()
        for dep, spec in depends_on(definition).items()
        if spec.get("condition") == "service_completed_successfully"
    }


def built_from_dockerfile(definition: dict[str, Any]) -> bool:
    build = definition.get("build")
    if not isinstance(build, dict):
        return False
    context = REPO_ROOT / build.get("context", ".")
    return (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE.resolve()


def has_healthcheck(definition: dict[str, Any]) -> bool:
    """A compose health check, or the one deploy/Dockerfile bakes into the image."""
    check = definition.get("healthcheck")
    if check is not None:
        if check.get("disable") or check.get("test") in (["NONE"], "NONE"):
            return False
        return bool(check.get("test"))
    return built_from_dockerfile(definition) and dockerfile_healthcheck() is not None


# --- reading the Dockerfile ------------------------------------------------------------------


@cache
def dockerfile_instructions() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continuation line"
    return tuple(instructions)


def global_args() -> dict[str, str]:
    """ARGs declared before the first FROM, with their defaults."""
    args: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def final_stage() -> list[tuple[str, str]]:
    instructions = list(dockerfile_instructions())
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def base_images() -> list[str]:
    stages = set()
    images = []
    for keyword, rest in dockerfile_instructions():
        if keyword != "FROM":
            continue
        words = [w for w in rest.split() if not w.startswith("--")]
        ref = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args()[m[1] or m[2]], words[0])
        if ref not in stages:  # FROM <earlier stage> is not an image
            images.append(ref)
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return images


def dockerfile_healthcheck() -> str | None:
    checks = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    if not checks or checks[-1].upper() == "NONE":
        return None
    return checks[-1]


# --- compose: the stack ----------------------------------------------------------------------


def test_compose_declares_the_whole_stack():
    assert set(compose()["services"]) == INFRASTRUCTURE | set(SERVICES) | set(ONE_SHOTS)


@pytest.mark.parametrize("name", [*SERVICES, *ONE_SHOTS])
def test_only_variables_the_service_reads(name):
    settings_cls = {**SERVICES, **ONE_SHOTS}[name]
    set_here = {key for key in environment(service(name)) if key.upper().startswith("GONGHUI_")}
    unknown = {key for key in set_here if key.upper() not in env_var_names(settings_cls)}
    assert not unknown, f"{name} does not read {sorted(unknown)} ({settings_cls.__name__})"


@pytest.mark.parametrize("name", [*SERVICES, *ONE_SHOTS])
def test_variables_a_container_needs_are_set(name):
    needed = NEEDS_VALUE_PER_SERVICE.get(name, set()) | (NEEDS_VALUE if name in SERVICES else set())
    env = environment(service(name))
    missing = {key for key in needed if env.get(key) in (None, "")}
    assert not missing, f"{name} would fall back to 127.0.0.1 defaults for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(compose()["services"]))
def test_environment_values_are_strings(name):
    # Unquoted YAML turns `false`, `1`, `no` into other types; compose then re-renders them.
    bad = {k: v for k, v in environment(service(name)).items() if not isinstance(v, str)}
    assert not bad, f"quote these values in {name}: {bad}"


def key_dir() -> str:
    """Where the `keygen` job writes the keys (its --out), in every container."""
    command = service("keygen")["command"]
    return command[command.index("--out") + 1]


@pytest.mark.parametrize("name", SERVICES)
def test_compose_settings_load_and_point_at_compose_services(name, monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.upper().startswith("GONGHUI_"):
            monkeypatch.delenv(key)
    ensure_keys(tmp_path)  # what the keygen job leaves in the volume
    for key, value in environment(service(name)).items():
        if value.startswith(key_dir() + "/"):
            value = str(tmp_path / value.removeprefix(key_dir() + "/"))
        monkeypatch.setenv(key, value)
    settings = SERVICES[name]()  # validates types and the key rule
    # Its keys are the stack's own: the same settings start in production too.
    monkeypatch.setenv("GONGHUI_ENV", "production")
    assert SERVICES[name]().env == "production"
    monkeypatch.setenv("GONGHUI_ENV", "development")

    kafka_host, kafka_port = settings.kafka_bootstrap.split(":")
    assert kafka_host == "kafka"
    advertised = environment(service("kafka"))["KAFKA_ADVERTISED_LISTENERS"]
    assert f"://{kafka_host}:{kafka_port}" in advertised

    url = urlsplit(settings.mongo_url)
    assert url.hostname == "mongo"
    mongo_command = service("mongo")["command"]
    replica_set = mongo_command[mongo_command.index("--replSet") + 1]
    assert parse_qs(url.query).get("replicaSet") == [replica_set]

    assert settings.mongo_db == f"gonghui_{name}"  # its own database
    assert settings.env == "development"  # plain http: cookies are not Secure
    if isinstance(settings, NotifySettings):
        assert settings.smtp_host == "mailpit"
        mailpit_ports = published_ports(service("mailpit"))
        assert settings.smtp_port in mailpit_ports
    if isinstance(settings, WebSettings):
        for other in ("members", "events", "notify"):
            url = urlsplit(getattr(settings, f"{other}_url"))
            assert (url.hostname, url.port) == (other, CONTAINER_PORT)


def test_each_service_has_its_own_database():
    assert all("GONGHUI_MONGO_DB" not in environment(service(n)) for n in SERVICES)


# --- compose: images, dependencies, health ---------------------------------------------------


@pytest.mark.parametrize("name", sorted(compose()["services"]))
def test_images_are_pinned(name):
    definition = service(name)
    if "image" not in definition:
        assert built_from_dockerfile(definition), f"{name} has neither image nor our build"
        return
    tag = image_tag(definition["image"])
    assert tag, f"{name}: {definition['image']} has no tag"
    assert tag != "latest", f"{name}: {definition['image']} is not pinned"
    assert re.search(r"\d+\.\d+\.\d+", tag), f"{name}: pin a full version, not {tag}"


def test_infrastructure_images():
    assert service("kafka")["image"] == "apache/kafka:3.9.2"
    assert re.fullmatch(r"mongo:7\.0\.\d+", service("mongo")["image"])
    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", service("mailpit")["image"])


@pytest.mark.parametrize("name", sorted(compose()["services"]))
def test_every_depends_on_has_a_condition(name):
    for dep, spec in depends_on(service(name)).items():
        assert dep in compose()["services"], f"{name} depends on unknown {dep}"
        condition = spec.get("condition")
        assert condition in DEPENDS_ON_CONDITIONS, f"{name} -> {dep}: no condition"
        if condition == "service_healthy":
            assert has_healthcheck(service(dep)), (
                f"{name} waits for {dep}, which has no health check"
            )
        if dep in INFRASTRUCTURE or dep in ONE_SHOTS:
            assert condition != "service_started", f"{name} -> {dep}: started is not ready"


@pytest.mark.parametrize("name", SERVICES)
def test_services_wait_for_kafka_mongo_and_topics(name):
    deps = {dep: spec.get("condition") for dep, spec in depends_on(service(name)).items()}
    assert deps.get("kafka") == "service_healthy"
    assert deps.get("mongo") == "service_healthy"
    assert deps.get("topics") == "service_completed_successfully"
    if name == "notify":
        assert deps.get("mailpit") == "service_healthy"


@pytest.mark.parametrize("name", sorted(compose()["services"]))
def test_long_running_services_have_a_healthcheck(name):
    if name in one_shot_services():
        assert service(name).get("restart", "no") == "no", f"one-shot {name} must not restart"
        return
    assert has_healthcheck(service(name)), f"{name} runs without a health check"


def test_topics_runs_the_cli_after_kafka():
    topics = service("topics")
    command = topics["command"]
    assert (command.split() if isinstance(command, str) else command) == ["gonghui", "topics"]
    assert depends_on(topics)["kafka"].get("condition") == "service_healthy"
    assert built_from_dockerfile(topics)
    assert topics["build"]["args"]["SERVICE"] in SERVICES
    assert one_shot_services() == set(ONE_SHOTS)
    # The image has the `gonghui` script and the CLI has the sub-command.
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["gonghui"] == "deploy.cli:main"
    with pytest.raises(SystemExit) as exited:
        cli.main(["topics", "--help"])
    assert exited.value.code == 0


def test_keygen_makes_every_key_into_a_volume_the_services_read():
    keygen = service("keygen")
    command = keygen["command"]
    assert command[:2] == ["gonghui", "keygen"] and built_from_dockerfile(keygen)
    volume = next(v.split(":")[0] for v in keygen["volumes"] if v.split(":")[1] == key_dir())
    assert volume in (compose().get("volumes") or {})
    with pytest.raises(SystemExit) as exited:
        cli.main(["keygen", "--help"])
    assert exited.value.code == 0
    # The image makes the directory for its non-root user, so the volume starts as theirs.
    runs = [rest for keyword, rest in final_stage() if keyword == "RUN"]
    assert any(f"-o gonghui -g gonghui {key_dir()}" in run for run in runs)
    for name, settings_cls in SERVICES.items():
        definition = service(name)
        assert depends_on(definition)["keygen"].get("condition") == (
            "service_completed_successfully"
        )
        assert f"{volume}:{key_dir()}:ro" in definition["volumes"], f"{name}: keys read-only"
        env = environment(definition)
        for key in KEYS:
            if key.variable in env_var_names(settings_cls):
                # Every key a service reads is set, to the file keygen makes: none falls
                # back to the checked-in development key.
                assert env.get(key.variable) == f"{key_dir()}/{key.file}", (name, key.variable)
        assert not any(str(DEV_KEYS.name) in str(v) for v in env.values())


def test_topics_job_creates_topics_with_the_replication_the_services_use():
    # The job creates every topic before a service starts; if it read another replication
    # factor (or none: the default 1), a cluster would keep single copies of the events.
    job = environment(service("topics"))
    for name in SERVICES:
        env = environment(service(name))
        for key in ("GONGHUI_KAFKA_BOOTSTRAP", "GONGHUI_KAFKA_REPLICATION_FACTOR"):
            assert job.get(key) == env.get(key), f"topics and {name} differ on {key}"
    brokers = [
        n for n, d in compose()["services"].items() if d.get("image", "").startswith("apache/kafka")
    ]
    replication = int(job["GONGHUI_KAFKA_REPLICATION_FACTOR"])
    assert 1 <= replication <= len(brokers), f"{replication} replicas on {len(brokers)} broker(s)"


@pytest.mark.parametrize("name", SERVICES)
def test_services_built_from_one_dockerfile_and_published(name):
    definition = service(name)
    assert built_from_dockerfile(definition)
    assert definition["build"]["args"]["SERVICE"] == name
    assert published_ports(definition) == {CONTAINER_PORT: HOST_PORTS[name]}


def test_mailpit_publishes_smtp_and_web_ui():
    assert published_ports(service("mailpit")) == {1025: 1025, 8025: 8025}


# --- compose: kafka and mongo configuration ----------------------------------------------------


def test_kafka_is_a_single_kraft_node_without_auto_created_topics():
    env = environment(service("kafka"))
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert env["CLUSTER_ID"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "1"
    # Every listener has a security protocol; the controller listener is one of them.
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    listeners = {item.split("://")[0] for item in env["KAFKA_LISTENERS"].split(",")}
    advertised = {item.split("://")[0] for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    assert listeners <= set(protocols) and advertised <= listeners
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners - advertised
    # The host listener is the one published on the host.
    host_listener = next(
        item for item in env["KAFKA_ADVERTISED_LISTENERS"].split(",") if "localhost" in item
    )
    host_port = int(host_listener.rsplit(":", 1)[1])
    assert host_port in published_ports(service("kafka")).values()
    assert any(v.endswith(":/var/lib/kafka/data") for v in service("kafka")["volumes"])
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"


def test_mongo_is_a_replica_set_the_health_check_initiates():
    mongo = service("mongo")
    replica_set = mongo["command"][mongo["command"].index("--replSet") + 1]
    test = mongo["healthcheck"]["test"]
    script_in_container = test[test.index("--file") + 1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in mongo["volumes"]}
    script = (REPO_ROOT / mounts[script_in_container]).read_text(encoding="utf-8")
    assert f'const replicaSet = "{replica_set}";' in script
    assert 'const member = "mongo:27017";' in script and mongo["hostname"] == "mongo"
    assert "rs.initiate" in script and "isWritablePrimary" in script
    assert any(v.endswith(":/data/db") for v in mongo["volumes"])


def test_bind_mounts_exist_and_named_volumes_are_declared():
    declared = set(compose().get("volumes") or {})
    for name, definition in compose()["services"].items():
        for volume in definition.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"


# --- the Dockerfile --------------------------------------------------------------------------


def test_dockerfile_base_images_are_pinned():
    images = base_images()
    assert images, "no FROM"
    for ref in images:
        # Python for the services; Node (npm only) for the web front end's assets at build time.
        assert re.fullmatch(
            r"(python:3\.11|node:20)\.\d+(\.\d+)?-(slim|bookworm-slim)(-\w+)?", ref
        ), ref


def test_dockerfile_takes_the_service_as_build_arg():
    assert ("ARG", "SERVICE") in final_stage()
    cmd = next(rest for keyword, rest in reversed(final_stage()) if keyword == "CMD")
    assert "uvicorn services.${SERVICE}.main:app" in cmd
    assert f"--host 0.0.0.0 --port {CONTAINER_PORT}" in cmd
    assert "exec uvicorn" in cmd  # uvicorn gets SIGTERM, not a shell


def test_dockerfile_runs_as_a_non_root_user():
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_health_check_uses_python_on_healthz():
    check = dockerfile_healthcheck()
    assert check is not None, "no HEALTHCHECK"
    assert "/healthz" in check and "python" in check
    assert f":{CONTAINER_PORT}/healthz" in check
    assert "curl" not in check and "wget" not in check  # not in slim images


def test_dockerfile_installs_exactly_the_lock():
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN"]
    syncs = [sync for run in runs for sync in re.findall(r"uv sync[^&;|]*", run)]
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs), syncs
    assert any(re.search(r"pip install [^&;|]*\buv==\d+\.\d+\.\d+", run) for run in runs), "pin uv"


def test_dockerignore_lets_in_what_the_dockerfile_copies():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for keyword, rest in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in rest:
            continue
        *sources, _ = [w for w in rest.split() if not w.startswith("--")]
        for source in sources:
            assert source.rstrip("/") in included or "*" not in patterns, source
            assert (REPO_ROOT / source).exists(), source
    assert ".venv" not in included and ".git" not in included

"""Choosing, finding and installing FerretDB's storage for the local launcher (no servers).

The servers themselves (initdb, the GIN twins, a restart on old data) are tested on the real
PostgreSQL in tests/integration/test_storage.py.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from deploy.local import postgres
from deploy.local.config import ConfigError, LocalConfig
from deploy.local.postgres import (
    APT_INSTALL,
    BackendError,
    Postgres,
    _blocked_folder,
    ensure_installed,
    find_bin_dir,
    mongo_backend,
)
from deploy.local.process import PrerequisiteError

INSTALL_COMMAND = "sudo apt-get install -y --no-install-recommends postgresql-15"


def test_postgresql_is_the_default_backend_and_sqlite_stays_selectable():
    assert mongo_backend({}) == "postgresql"
    assert mongo_backend({"GONGHUI_LOCAL_MONGO_BACKEND": " SQLite "}) == "sqlite"
    with pytest.raises(BackendError, match="postgresql, sqlite"):
        mongo_backend({"GONGHUI_LOCAL_MONGO_BACKEND": "mysql"})


def test_launcher_config_reads_the_backend_and_the_postgres_port(monkeypatch):
    monkeypatch.delenv("GONGHUI_LOCAL_MONGO_BACKEND", raising=False)
    monkeypatch.setenv("GONGHUI_LOCAL_POSTGRES_PORT", "15433")
    config = LocalConfig.from_env()
    assert config.mongo_backend == "postgresql"
    assert ("PostgreSQL (GONGHUI_LOCAL_POSTGRES_PORT)", 15433) in config.named_ports(False)

    monkeypatch.setenv("GONGHUI_LOCAL_MONGO_BACKEND", "sqlite")
    config = LocalConfig.from_env()
    assert config.mongo_backend == "sqlite"
    assert all("POSTGRES" not in what for what, _ in config.named_ports(True))

    monkeypatch.setenv("GONGHUI_LOCAL_MONGO_BACKEND", "oracle")
    with pytest.raises(ConfigError, match="GONGHUI_LOCAL_MONGO_BACKEND"):
        LocalConfig.from_env()


def test_launcher_config_refuses_the_postgres_port_twice(monkeypatch):
    monkeypatch.delenv("GONGHUI_LOCAL_MONGO_BACKEND", raising=False)
    monkeypatch.setenv("GONGHUI_LOCAL_MONGO_PORT", "27017")
    monkeypatch.setenv("GONGHUI_LOCAL_POSTGRES_PORT", "27017")
    with pytest.raises(ConfigError, match="27017"):
        LocalConfig.from_env()


def _fake_bin(folder: Path, tools=("initdb", "postgres", "pg_isready", "psql")) -> Path:
    folder.mkdir(parents=True)
    for tool in tools:
        (folder / tool).write_text("#!/bin/sh\n")
        (folder / tool).chmod(0o755)
    return folder


def test_find_bin_dir_takes_the_newest_complete_debian_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")  # no initdb on PATH to fall back to
    _fake_bin(tmp_path / "13" / "bin")
    fifteen = _fake_bin(tmp_path / "15" / "bin")
    _fake_bin(tmp_path / "16" / "bin", tools=("psql",))  # only the client: not a server
    assert find_bin_dir((tmp_path,)) == fifteen
    assert find_bin_dir((tmp_path / "nothing",)) is None


def test_a_missing_postgres_names_the_command_to_run_when_we_may_not_install(monkeypatch):
    monkeypatch.setattr(postgres, "find_bin_dir", lambda: None)
    ran: list[list[str]] = []

    def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
        ran.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    with pytest.raises(PrerequisiteError) as info:
        ensure_installed(say=lambda _: None, run=run, is_root=False)
    message = str(info.value)
    assert INSTALL_COMMAND in message
    assert "缺少 PostgreSQL" in message and "PostgreSQL is missing" in message
    assert ran == []  # nothing installed behind a developer's back


def test_root_installs_postgres_with_apt_get_non_interactively(monkeypatch):
    installed = Path("/usr/lib/postgresql/15/bin")
    state: dict[str, Path | None] = {"bin": None}
    monkeypatch.setattr(postgres, "find_bin_dir", lambda: state["bin"])
    monkeypatch.setattr(postgres.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    calls = []

    def run(cmd, **kwargs):
        calls.append((cmd, kwargs["env"].get("DEBIAN_FRONTEND")))
        if cmd[-len(APT_INSTALL) + 1 :] == APT_INSTALL[1:]:
            state["bin"] = installed
        return subprocess.CompletedProcess(cmd, 0, "", "")

    assert ensure_installed(say=lambda _: None, run=run, is_root=True) == installed
    commands = [cmd for cmd, _ in calls]
    assert commands[0][0] == "apt-get" and commands[0][-1] == "update"
    assert commands[1][0] == "apt-get"
    assert commands[1][-4:] == ["install", "-y", "--no-install-recommends", "postgresql-15"]
    assert {frontend for _, frontend in calls} == {"noninteractive"}


def test_a_failed_apt_get_says_what_failed_and_what_to_run(monkeypatch):
    monkeypatch.setattr(postgres, "find_bin_dir", lambda: None)
    monkeypatch.setattr(postgres.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def run(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package")

    with pytest.raises(PrerequisiteError, match="Unable to locate package") as info:
        ensure_installed(say=lambda _: None, run=run, is_root=True)
    assert INSTALL_COMMAND in str(info.value)


def test_server_settings_keep_postgres_local_and_plans_custom(tmp_path):
    pg = Postgres(tmp_path / "postgres", 15433, bin_dir=tmp_path)
    settings = pg.settings()
    assert settings["listen_addresses"] == "127.0.0.1"
    assert settings["port"] == "15433"
    assert settings["unix_socket_directories"] == str(pg.pgdata)
    assert settings["plan_cache_mode"] == "force_custom_plan"
    assert "fsync" not in settings  # durable: make run's data is real


def test_a_socket_path_too_long_for_unix_sockets_means_tcp_only(tmp_path):
    deep = tmp_path / ("x" * 100)
    pg = Postgres(deep, 15433, bin_dir=tmp_path)
    assert pg.socket_dir is None
    assert pg.settings()["unix_socket_directories"] == ""


def test_a_private_folder_on_the_way_to_the_data_is_named():
    try:
        other = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' to look through the eyes of")
    if os.geteuid() == other.pw_uid:
        pytest.skip("running as nobody")
    base = Path(tempfile.mkdtemp())  # under /tmp, which anyone may enter (pytest's is private)
    try:
        base.chmod(0o711)
        private = base / "private"
        (private / "var").mkdir(parents=True)
        private.chmod(0o700)
        assert _blocked_folder(private / "var" / "postgres", other) == private
        private.chmod(0o711)
        assert _blocked_folder(private / "var" / "postgres", other) is None
    finally:
        shutil.rmtree(base)

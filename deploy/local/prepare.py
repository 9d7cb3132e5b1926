"""Fetch and build the embedded infrastructure once: Kafka jars (Maven) and FerretDB (Go), and
make sure PostgreSQL is installed (FerretDB's storage unless GONGHUI_LOCAL_MONGO_BACKEND=sqlite;
as root on Debian it is installed with apt-get, see deploy/local/postgres.py).

Kafka and FerretDB land in the cache folder (default `.cache/`, env `GONGHUI_LOCAL_CACHE`):

    .cache/kafka/libs/*.jar     the broker's classpath, from deploy/kafka/pom.xml
    .cache/kafka/stamp          sha256 of the pom those jars came from
    .cache/bin/ferretdb         the FerretDB binary
    .cache/bin/ferretdb.stamp   the version it was built from

A stamp that does not match (the pom or the pin changed) rebuilds; a matching one skips.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local.postgres import BackendError, ensure_installed, find_bin_dir, mongo_backend
from deploy.local.process import PrerequisiteError

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_LOG4J = REPO_ROOT / "deploy" / "kafka" / "log4j.properties"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"
MIN_JAVA = 17  # Kafka 3.9 runs on 11+, 17 is what it is tested on; the pom needs Maven + JDK
MIN_GO = (1, 24)  # FerretDB 1.24's go.mod says `go 1.24`


@dataclass(frozen=True)
class Paths:
    cache: Path

    @property
    def kafka_libs(self) -> Path:
        return self.cache / "kafka" / "libs"

    @property
    def kafka_stamp(self) -> Path:
        return self.cache / "kafka" / "stamp"

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def ferretdb(self) -> Path:
        return self.bin / "ferretdb"

    @property
    def ferretdb_stamp(self) -> Path:
        return self.bin / "ferretdb.stamp"

    @property
    def ferretdb_src(self) -> Path:
        return self.cache / "ferretdb-src"


def cache_paths() -> Paths:
    return Paths(Path(os.environ.get("GONGHUI_LOCAL_CACHE") or REPO_ROOT / ".cache").resolve())


_INSTALL = {
    "java": (
        f"缺少 Java（运行 Kafka 需要 JDK {MIN_JAVA} 或更高版本）。"
        "请安装 JDK，例如 Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless；"
        "macOS: brew install openjdk@17。\n"
        f"Java is missing (the embedded Kafka broker needs JDK {MIN_JAVA}+). Install a JDK, "
        "e.g. Debian/Ubuntu: sudo apt-get install openjdk-17-jdk-headless; "
        "macOS: brew install openjdk@17."
    ),
    "mvn": (
        "缺少 Maven（从 Maven Central 下载 Kafka 需要它）。请安装：Debian/Ubuntu: "
        "sudo apt-get install maven；macOS: brew install maven。\n"
        "Maven is missing (it fetches the Kafka broker from Maven Central). Install it: "
        "Debian/Ubuntu: sudo apt-get install maven; macOS: brew install maven."
    ),
    "go": (
        f"缺少 Go（构建 FerretDB 需要 Go {MIN_GO[0]}.{MIN_GO[1]} 或更高版本）。"
        "请从 https://go.dev/dl/ 安装，或 macOS: brew install go。\n"
        f"Go is missing (FerretDB is built with go install; it needs Go {MIN_GO[0]}.{MIN_GO[1]}+). "
        "Install it from https://go.dev/dl/ or, on macOS, brew install go."
    ),
}


def _java_major(java: str) -> int | None:
    out = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def _go_version(go: str) -> tuple[int, int] | None:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout
    m = re.search(r"go(\d+)\.(\d+)", out)
    return (int(m.group(1)), int(m.group(2))) if m else None


def check_prerequisites(tools: tuple[str, ...] = ("java", "mvn", "go")) -> None:
    """Raise PrerequisiteError naming every missing or too old tool and how to install it."""
    problems = []
    for tool in tools:
        path = shutil.which(tool)
        if path is None:
            problems.append(_INSTALL[tool])
        elif tool == "java":
            major = _java_major(path)
            if major is not None and major < MIN_JAVA:
                problems.append(f"Java {major} 太旧 / is too old.\n{_INSTALL['java']}")
        elif tool == "go":
            version = _go_version(path)
            if version is not None and version < MIN_GO:
                found = f"{version[0]}.{version[1]}"
                problems.append(f"Go {found} 太旧 / is too old.\n{_INSTALL['go']}")
    if problems:
        raise PrerequisiteError("\n\n".join(problems))


def _pom_digest() -> str:
    return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()


def kafka_ready(paths: Paths) -> bool:
    return (
        paths.kafka_stamp.is_file()
        and paths.kafka_stamp.read_text().strip() == _pom_digest()
        and any(paths.kafka_libs.glob("kafka_2.13-*.jar"))
    )


def ferretdb_ready(paths: Paths) -> bool:
    return (
        paths.ferretdb.is_file()
        and paths.ferretdb_stamp.is_file()
        and paths.ferretdb_stamp.read_text().strip() == FERRETDB_VERSION
    )


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(
            f"{what} 失败 / failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"{result.stdout[-4000:]}{result.stderr[-4000:]}"
        )
    return result


def fetch_kafka(paths: Paths) -> None:
    libs = paths.kafka_libs
    staging = libs.with_name("libs.new")
    shutil.rmtree(staging, ignore_errors=True)
    _run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(KAFKA_POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        "下载 Kafka / fetching Kafka with Maven",
    )
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    paths.kafka_stamp.write_text(_pom_digest() + "\n")


def build_ferretdb(paths: Paths) -> None:
    module = f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"
    info = json.loads(
        _run(["go", "mod", "download", "-json", module], "下载 FerretDB / go mod download").stdout
    )
    src = paths.ferretdb_src
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(info["Dir"], src)
    for root, dirs, files in os.walk(src):  # the module cache is read-only
        for name in dirs + files:
            p = Path(root, name)
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
    src.chmod(src.stat().st_mode | stat.S_IWUSR)
    # The module zip lacks the version file that `git describe` writes in FerretDB's own
    # build; without it the binary panics at start.
    (src / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
    paths.bin.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOBIN": str(paths.bin), "CGO_ENABLED": os.environ.get("CGO_ENABLED", "0")}
    _run(
        ["go", "install", "-trimpath", "./cmd/ferretdb"],
        "构建 FerretDB / go install FerretDB",
        cwd=src,
        env=env,
    )
    paths.ferretdb_stamp.write_text(FERRETDB_VERSION + "\n")
    shutil.rmtree(src, ignore_errors=True)


@contextmanager
def _prepare_lock(paths: Paths):
    """Two launches at once (make run + make test) must not build into the same folder."""
    paths.cache.mkdir(parents=True, exist_ok=True)
    with open(paths.cache / "prepare.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def prepare(paths: Paths | None = None, say=print, backend: str | None = None) -> Paths:
    """Make sure the Kafka jars and the FerretDB binary are there; build what is missing.

    For the `postgresql` backend (default: GONGHUI_LOCAL_MONGO_BACKEND, else postgresql) also
    PostgreSQL's server binaries: installed with apt-get when we are root, else a
    PrerequisiteError names the command to run. Here, not in the launcher, so that make run,
    make test and make bench all get it.
    """
    paths = paths or cache_paths()
    backend = backend or mongo_backend()
    need = ["java"]
    if not kafka_ready(paths):
        need.append("mvn")
    if not ferretdb_ready(paths):
        need.append("go")
    check_prerequisites(tuple(need))
    with _prepare_lock(paths):  # also two test workers on a fresh machine: one apt-get
        if backend == "postgresql":
            ensure_installed(say)
        if not kafka_ready(paths):
            say("正在从 Maven Central 获取 Kafka … / fetching Kafka from Maven Central …")
            t0 = time.monotonic()
            paths.kafka_libs.parent.mkdir(parents=True, exist_ok=True)
            fetch_kafka(paths)
            say(f"  Kafka jars ready in {time.monotonic() - t0:.0f}s")
        if not ferretdb_ready(paths):
            say(f"正在构建 FerretDB {FERRETDB_VERSION} … / building FerretDB {FERRETDB_VERSION} …")
            t0 = time.monotonic()
            build_ferretdb(paths)
            say(f"  FerretDB built in {time.monotonic() - t0:.0f}s")
    return paths


def main() -> int:
    try:
        backend = mongo_backend()
        paths = prepare(backend=backend)
    except (PrerequisiteError, BackendError) as exc:
        print(exc, file=sys.stderr)
        return 2
    storage = f", PostgreSQL in {find_bin_dir()}" if backend == "postgresql" else " (SQLite)"
    print(f"ready: {paths.kafka_libs} and {paths.ferretdb}{storage}")
    return 0

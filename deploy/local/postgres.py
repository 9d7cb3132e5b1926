"""PostgreSQL as FerretDB's storage: found or installed, initialised under var/, run unprivileged.

Why PostgreSQL and not SQLite: FerretDB 1.24 pushes only `_id` filters down to SQLite and
scans the whole table for everything else (README, "Storage"). On PostgreSQL it pushes every
top-level equality down as `_jsonb->'field' @> '<value>'`; with the GIN twins installed here
those filters are answered from an index (deploy/local/gin_twins.py).

The cluster (one per data folder, default `var/postgres/`):

    data/          the cluster: `initdb` with UTF8 and the C.UTF-8 locale, owned by the user
                   the server runs as (mode 0700); its unix socket lives in here too
    password       the superuser's password (0600, the launcher's user): FerretDB and psql use it
    postgres.log   the server's log (unless the launcher puts logs elsewhere)

The server listens on 127.0.0.1 only, asks for a password (scram-sha-256) on TCP and on the
socket, and holds one database, `ferretdb`, where FerretDB keeps one schema per MongoDB
database. PostgreSQL refuses to run as root: a root launcher (CI) runs `initdb` and `postgres`
as the `postgres` system user the Debian package creates; anyone else runs them as themselves.
Debian's own cluster (`/var/lib/postgresql/15/main`, port 5432) is never started or changed.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy.local.gin_twins import TWIN_SQL
from deploy.local.process import HOST, InfraError, ManagedProcess, PrerequisiteError, as_user

BACKENDS = ("postgresql", "sqlite")
DEFAULT_BACKEND = "postgresql"
BACKEND_VARIABLE = "GONGHUI_LOCAL_MONGO_BACKEND"
PACKAGE = "postgresql-15"  # Debian 12's PostgreSQL; FerretDB 1.24 supports 15 and 16
APT_INSTALL = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]
SERVER_USER = "postgres"  # the system user Debian's package creates; used when we are root
SUPERUSER = "gonghui"
DATABASE = "ferretdb"
# FerretDB's connection pool, and how many connections each MongoDB client may open to
# FerretDB (the launcher and the tests hand out the URL with maxPoolSize). FerretDB 1.24 runs an
# update or findAndModify with two pool connections at once: the query's, held while it writes
# with a second one. When as many of them run at once as the pool has connections, each holds
# one and waits for another, forever (measured: pool 8, 16 concurrent update_one on one
# document: hung; pool 16: fine). So the pool stays above what the clients can send at once:
# six clients (the four services, a CLI, a test or the bench) with 8 connections each. Backends
# are only started when needed (~1.3 MiB PSS each, README "Storage"), and the cap per client is
# what bounds them in practice.
CLIENT_MAX_POOL_SIZE = 8
POOL_MAX_CONNS = 50
MAX_CONNECTIONS = POOL_MAX_CONNS + 10  # and psql sessions of the launcher and an operator
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the trailing NUL


class BackendError(ValueError):
    """GONGHUI_LOCAL_MONGO_BACKEND names no backend we know."""


def mongo_backend(environ: Mapping[str, str] = os.environ) -> str:
    """The storage FerretDB runs on: `postgresql` (default) or `sqlite`."""
    raw = environ.get(BACKEND_VARIABLE, "").strip().lower()
    if not raw:
        return DEFAULT_BACKEND
    if raw not in BACKENDS:
        raise BackendError(
            f"{BACKEND_VARIABLE}={raw!r}: 只能是 / must be one of {', '.join(BACKENDS)}"
        )
    return raw


# --- finding and installing the binaries -----------------------------------------------------

_NEEDED = ("initdb", "postgres", "pg_isready", "psql")


def _complete(bin_dir: Path) -> bool:
    return all(os.access(bin_dir / tool, os.X_OK) for tool in _NEEDED)


def find_bin_dir(roots: tuple[Path, ...] = (Path("/usr/lib/postgresql"),)) -> Path | None:
    """The server's bin folder: Debian's /usr/lib/postgresql/<version>/bin (newest first),
    else the folder of an `initdb` on PATH (other distributions, Homebrew). pg_config may be
    absent (it comes with libpq-dev), so it is not asked."""
    found: list[tuple[int, Path]] = []
    for root in roots:
        for bin_dir in root.glob("*/bin"):
            if bin_dir.parent.name.isdigit() and _complete(bin_dir):
                found.append((int(bin_dir.parent.name), bin_dir))
    if found:
        return max(found)[1]
    initdb = shutil.which("initdb")
    if initdb and _complete(Path(initdb).resolve().parent):
        return Path(initdb).resolve().parent
    return None


def install_hint() -> str:
    return (
        "缺少 PostgreSQL（嵌入式 FerretDB 把数据存在 PostgreSQL 里）。请运行：\n"
        f"    sudo apt-get install -y --no-install-recommends {PACKAGE}\n"
        "然后重新运行 make run / make test。（或者设置 "
        f"{BACKEND_VARIABLE}=sqlite 改用 SQLite 存储。）\n"
        "PostgreSQL is missing (the embedded FerretDB stores its data in it). Run:\n"
        f"    sudo apt-get install -y --no-install-recommends {PACKAGE}\n"
        f"then run make again. (Or set {BACKEND_VARIABLE}=sqlite for the SQLite storage.)\n"
        "Other systems: install PostgreSQL 15 or newer and put the folder with initdb on PATH."
    )


def ensure_installed(
    say: Callable[[str], None] = print,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    is_root: bool | None = None,
) -> Path:
    """The bin folder; as root on Debian, installs `postgresql-15` with apt-get if it is missing.

    Anyone else gets PrerequisiteError with the one command to run: installing system
    packages is not something to do behind a developer's back.
    """
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    root = os.geteuid() == 0 if is_root is None else is_root
    if not (root and shutil.which("apt-get")):
        raise PrerequisiteError(install_hint())
    say(f"正在安装 {PACKAGE} … / installing {PACKAGE} with apt-get …")
    t0 = time.monotonic()
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt-get (a second launcher, unattended-upgrades) may hold dpkg's lock: wait.
    wait = ["-o", "DPkg::Lock::Timeout=300"]
    for cmd in (["apt-get", *wait, "update"], [APT_INSTALL[0], *wait, *APT_INSTALL[1:]]):
        result = run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise PrerequisiteError(
                f"{' '.join(cmd)} 失败 / failed (exit {result.returncode}):\n"
                f"{(result.stdout or '')[-3000:]}{(result.stderr or '')[-3000:]}\n\n{install_hint()}"
            )
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PrerequisiteError(f"{PACKAGE} installed, but no initdb found.\n{install_hint()}")
    say(f"  {PACKAGE} installed in {time.monotonic() - t0:.0f}s ({bin_dir})")
    return bin_dir


def server_user() -> pwd.struct_passwd | None:
    """Who runs initdb and postgres: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise InfraError(
            f"以 root 运行时需要系统用户 {SERVER_USER}（PostgreSQL 不能以 root 运行）。"
            f"请安装 {PACKAGE}（它会创建该用户）或运行：useradd --system {SERVER_USER}\n"
            f"Running as root needs the system user {SERVER_USER!r} (PostgreSQL refuses root): "
            f"install {PACKAGE} (it creates the user) or run: useradd --system {SERVER_USER}"
        ) from None


def _blocked_folder(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first folder above `path` that `user` may not enter (ignores ACLs), or None."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for folder in reversed(path.parents):
        st = folder.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return folder
    return None


# --- the server -------------------------------------------------------------------------------


class Postgres(ManagedProcess):
    """A PostgreSQL cluster in `data_dir/data`, on 127.0.0.1:`port`, for FerretDB.

    Start it, then `await setup()` (database + GIN twins), then start FerretDB with `url`.
    """

    name = "postgres"
    # SIGINT is PostgreSQL's fast shutdown (SIGTERM would wait for every client to leave); it
    # goes to the postmaster alone, which stops its own children.
    stop_signal = signal.SIGINT
    signal_group_on_stop = False

    def __init__(
        self,
        data_dir: Path,
        port: int,
        bin_dir: Path | None = None,
        log_dir: Path | None = None,
        gin_twins: bool = True,
        pool_max_conns: int = POOL_MAX_CONNS,
        extra_settings: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data_dir, log_dir)
        self.port = port
        self.bin_dir = Path(bin_dir) if bin_dir else find_bin_dir()
        self.gin_twins = gin_twins
        self.pool_max_conns = pool_max_conns
        self.extra_settings = dict(extra_settings or {})
        self.run_as = server_user()
        self.twins_added = 0
        self.cold_start = False  # True when this start ran initdb

    def _tool(self, name: str) -> str:
        if self.bin_dir is None:
            raise InfraError(install_hint())
        return str(self.bin_dir / name)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "data"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "password"

    @property
    def socket_dir(self) -> Path | None:
        """The data folder, unless the socket's path would be too long (then TCP only)."""
        if len(str(self.pgdata / f".s.PGSQL.{self.port}.lock")) > _SOCKET_PATH_MAX:
            return None
        return self.pgdata

    def password(self) -> str:
        return self.password_file.read_text().strip()

    @property
    def url(self) -> str:
        """FerretDB's --postgresql-url (with the password: pass it in the environment)."""
        return (
            f"postgres://{SUPERUSER}:{self.password()}@{HOST}:{self.port}/{DATABASE}"
            f"?pool_max_conns={self.pool_max_conns}"
        )

    @property
    def version(self) -> str:
        return self.bin_dir.parent.name if self.bin_dir else "?"

    # -- initdb --------------------------------------------------------------------------------

    def before_start(self) -> None:
        if self.run_as is not None:
            blocked = _blocked_folder(self.pgdata, self.run_as)
            if blocked is not None:
                raise InfraError(
                    f"用户 {self.run_as.pw_name} 无法进入 {blocked}，PostgreSQL 的数据目录 "
                    f"{self.pgdata} 在它下面。请把 GONGHUI_LOCAL_VAR 设到别处（例如 "
                    f"/var/tmp/gonghui），或运行 chmod o+x {blocked}\n"
                    f"User {self.run_as.pw_name!r} cannot enter {blocked}, which holds "
                    f"PostgreSQL's data folder {self.pgdata}. Set GONGHUI_LOCAL_VAR elsewhere "
                    f"(e.g. /var/tmp/gonghui) or run: chmod o+x {blocked}"
                )
        version_file = self.pgdata / "PG_VERSION"
        if version_file.is_file():
            made_by = version_file.read_text().strip()
            if made_by != self.version:
                raise InfraError(
                    f"{self.pgdata} 由 PostgreSQL {made_by} 创建，本机是 {self.version}。"
                    f"删除 {self.data_dir}（数据会丢失）或用 pg_upgrade 升级。\n"
                    f"{self.pgdata} was made by PostgreSQL {made_by}; this machine has "
                    f"{self.version}. Delete {self.data_dir} (loses its data) or pg_upgrade it."
                )
            self.cold_start = False
        else:
            self._initdb()
            self.cold_start = True
        self._write_conf()

    def _initdb(self) -> None:
        shutil.rmtree(self.pgdata, ignore_errors=True)  # an initdb that never finished
        self.pgdata.mkdir(mode=0o700, parents=True)
        password = secrets.token_urlsafe(24)
        pwfile = self.data_dir / ".initdb-password"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        if self.run_as is not None:
            for path in (self.pgdata, pwfile):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        cmd = [
            self._tool("initdb"),
            f"--pgdata={self.pgdata}",
            f"--username={SUPERUSER}",
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
        ]
        try:
            result = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                cwd=self.data_dir,
                env=self._env(),
                preexec_fn=as_user(self.run_as) if self.run_as else None,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise InfraError(f"initdb failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)

    # -- the server ----------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"  # messages and initdb's defaults do not depend on the terminal
        return env

    def env(self) -> dict[str, str]:
        return self._env()

    def settings(self) -> dict[str, str]:
        """Written to data/gonghui.conf at every start, so an old data folder gets them too."""
        socket = self.socket_dir
        settings = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": str(socket) if socket else "",
            "unix_socket_permissions": "0700",
            "max_connections": str(MAX_CONNECTIONS),
            # FerretDB sends the field name as a parameter (`_jsonb->$1 @> $2`) in statements
            # it prepares once per connection. An expression index matches only once $1 is a
            # constant: a generic plan of a prepared statement would never use the twins.
            "plan_cache_mode": "force_custom_plan",
            "log_line_prefix": "%m [%p] ",
            "log_timezone": "UTC",
        }
        return settings | self.extra_settings

    @property
    def conf_file(self) -> Path:
        return self.pgdata / "gonghui.conf"

    def _write_conf(self) -> None:
        """gonghui.conf, included at the end of postgresql.conf.

        A file rather than `-c` options: settings on the command line outrank the files, so
        an operator's ALTER SYSTEM (postgresql.auto.conf, read last) could not change them,
        and a reload would complain that the file disagrees with them.
        """
        lines = [
            "# Written by the Gonghui launcher (deploy/local/postgres.py) at every start;",
            "# edits here are lost. To change a setting, use ALTER SYSTEM.",
        ]
        for key, value in self.settings().items():
            quoted = value.replace("'", "''")
            lines.append(f"{key} = '{quoted}'")
        self.conf_file.write_text("\n".join(lines) + "\n")
        main = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'gonghui.conf'"
        if include not in main.read_text():
            with main.open("a") as f:
                f.write(f"\n# Gonghui's settings (deploy/local/postgres.py)\n{include}\n")
        if self.run_as is not None:
            os.chown(self.conf_file, self.run_as.pw_uid, self.run_as.pw_gid)

    def command(self) -> list[str]:
        return [self._tool("postgres"), "-D", str(self.pgdata)]

    async def healthy(self) -> bool:
        proc = await asyncio.create_subprocess_exec(
            self._tool("pg_isready"),
            "-q",
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-d",
            "postgres",
            "-t",
            "2",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env=self._env(),
        )
        return await proc.wait() == 0

    async def psql(self, sql: str, database: str = DATABASE, *args: str) -> str:
        """Run SQL (several statements allowed) as the superuser; stdout, unaligned."""
        proc = await asyncio.create_subprocess_exec(
            self._tool("psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            "-d",
            database,
            *args,
            "-f",
            "-",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={
                **self._env(),
                "PGPASSWORD": self.password(),
                "PGCONNECT_TIMEOUT": "10",
                "PGAPPNAME": "gonghui-launcher",
            },
        )
        out, err = await proc.communicate(sql.encode())
        if proc.returncode != 0:
            raise InfraError(
                f"psql ({database}) failed (exit {proc.returncode}): {err.decode(errors='replace')}"
            )
        return out.decode()

    async def setup(self) -> None:
        """The `ferretdb` database, then (idempotently, at every start) the GIN twins."""
        exists = await self.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", "postgres"
        )
        if not exists.strip():
            await self.psql(f"CREATE DATABASE {DATABASE}", "postgres")
        if self.gin_twins:
            out = await self.psql(TWIN_SQL, DATABASE, "--single-transaction")
            m = re.search(r"twins added: (\d+)", out)
            self.twins_added = int(m.group(1)) if m else 0

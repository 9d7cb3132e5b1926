"""Child processes of the local launcher: start, wait until they answer, stop in order.

Children run in their own process group (so Ctrl-C in the terminal reaches only the
launcher, which stops them in order) and, on Linux, get SIGTERM from the kernel when the
thread that started them dies (PR_SET_PDEATHSIG), so nothing outlives a killed launcher.
Start them from the main thread.

A process may run as another (unprivileged) user: PostgreSQL refuses to run as root, so when
the launcher is root it starts `initdb` and `postgres` as the `postgres` system user.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pwd
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1


class InfraError(RuntimeError):
    """A process did not start or did not become healthy; the message points at its log."""


class PrerequisiteError(RuntimeError):
    """A tool is missing; the message says (in Chinese and English) what to install."""


EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the kernel's range of
    ephemeral ports where there is one: a port from that range (what binding port 0 gives)
    can be taken, before the server binds it, as the local end of any outgoing connection (a
    test run's Kafka failed to start so: "Address already in use")."""
    try:
        below = int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        below = 0
    if below > LOWEST_PORT + 1000:
        for _ in range(200):
            port = random.randrange(LOWEST_PORT, below)
            with socket.socket() as s:
                try:
                    s.bind((HOST, port))
                except OSError:
                    continue
                return port
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    """True when something listens on the port (binding the way a server would fails)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


async def tcp_open(port: int, host: str = HOST) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def _exited(proc: subprocess.Popen, timeout_s: float) -> bool:
    """Wait up to timeout_s for the process to exit (it is reaped); True when it did."""
    for _ in range(max(1, round(timeout_s / 0.05))):
        if proc.poll() is not None:
            return True
        await asyncio.sleep(0.05)
    return proc.poll() is not None


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # libc is already in the process
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()  # loaded in the parent: nothing is imported between fork and exec


# A test session or a long development run creates thousands of Kafka partitions (a topic
# set per test stack), and Kafka keeps files open per partition: at the usual 20,000 open
# files the broker's log directory fails ("Too many open files") about halfway through
# `make test`. Children inherit the limit, so the launcher raises its own once.
OPEN_FILES_WANTED = 1 << 20


def raise_open_files_limit(wanted: int = OPEN_FILES_WANTED) -> int:
    """Raise this process's open-files limit (the soft one up to the hard one; both when root
    may); returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(OSError):
        ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
        wanted = min(wanted, ceiling)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        with contextlib.suppress(ValueError, OSError):  # only root may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
    return soft


def as_user(user: pwd.struct_passwd) -> Callable[[], None]:
    """A preexec_fn that drops root to `user` (its primary group only) before the exec."""

    def drop() -> None:
        os.setgroups([user.pw_gid])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    return drop


def _die_with_parent(
    sig: int = signal.SIGTERM, user: pwd.struct_passwd | None = None
) -> Callable[[], None] | None:
    """The child's preexec_fn: become `user` (if any), then ask for `sig` when we die.

    The order matters: the kernel clears the parent-death signal when a process changes its
    user or group ids, so the ids change first.
    """
    drop = as_user(user) if user is not None else None
    if _PRCTL is None:
        return drop
    parent = os.getpid()
    prctl = _PRCTL

    def preexec() -> None:
        if drop is not None:
            drop()
        prctl(PR_SET_PDEATHSIG, sig)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class ManagedProcess:
    """One child process with a log file, a health check and a clean stop."""

    name = "process"
    # What stop() sends first, and to whom: most programs get SIGTERM on their whole process
    # group; a server that manages its own children (PostgreSQL) gets its own signal, alone.
    stop_signal: int = signal.SIGTERM
    signal_group_on_stop = True
    # The user the program runs as (None: the launcher's own user).
    run_as: pwd.struct_passwd | None = None

    def __init__(self, data_dir: Path, log_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.log_dir = Path(log_dir).resolve() if log_dir else self.data_dir
        self.proc: subprocess.Popen | None = None

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def before_start(self) -> None:
        """Prepare the data folder (runs before every start)."""

    async def healthy(self) -> bool:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def launch(self) -> None:
        """Start the process without waiting (call from the main thread)."""
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.before_start()
        raise_open_files_limit()
        with open(self.log_file, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.data_dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(self.stop_signal, self.run_as),
            )

    async def wait_healthy(self, timeout_s: float = 90) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc is None or self.proc.poll() is not None:
                code = self.proc.returncode if self.proc else None
                raise InfraError(
                    f"{self.name} 启动失败 / exited while starting (exit code {code}); "
                    f"日志 log: {self.log_file}\n{self.log_tail()}"
                )
            if await self.healthy():
                return
            if time.monotonic() > deadline:
                raise InfraError(
                    f"{self.name} 在 {timeout_s:.0f}s 内未就绪 / not healthy after "
                    f"{timeout_s:.0f}s; 日志 log: {self.log_file}\n{self.log_tail()}"
                )
            await asyncio.sleep(0.2)

    async def start(self, timeout_s: float = 90) -> None:
        self.launch()
        try:
            await self.wait_healthy(timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout_s: float = 30) -> int | None:
        """SIGTERM the process group, SIGKILL it after timeout_s; returns the exit code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            if self.signal_group_on_stop:
                self._signal_group(self.stop_signal)
            else:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    proc.send_signal(self.stop_signal)
            if not await _exited(proc, timeout_s):
                self._signal_group(signal.SIGKILL)
                await _exited(proc, 10)
        return proc.returncode

    def kill(self) -> None:
        """Last resort without an event loop (interpreter exit)."""
        if self.running:
            self._signal_group(signal.SIGKILL)
            self.proc.wait()  # type: ignore[union-attr]

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # its own session: the group id is its pid

"""The e2e platforms' services, forked from one process that has imported them all once.

A service process spends 3–4 s of CPU importing FastAPI, PyMongo, aiokafka, openpyxl and its
own modules before it serves anything, and the e2e files start about fifteen platforms of
four or five services on a two-core machine: a fifth of the suite's set-up time. This server
(one per pytest worker, started at the first platform) imports every service's modules, then
forks a child per service a platform starts. A child is what `python -m uvicorn
services.<name>.main:app --fd N` would be: it takes its environment, working directory and
log, builds its app from that environment (`main` is imported only in the child) and serves
on the inherited listening socket; uvicorn's own exit (re-raising SIGTERM after a graceful
shutdown) is its exit, as before.

The server forks before any thread or event loop exists in it. The pytest side sends one
request at a time over a SOCK_SEQPACKET pair (JSON, the socket passed with SCM_RIGHTS) and
gets a `Forked` handle with the `subprocess.Popen` methods the platform uses.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SERVICES = ("members", "events", "welfare", "notify", "web")
MAX_MESSAGE = 1 << 20


# -- the server --------------------------------------------------------------------------------


def _child(control: socket.socket, request: dict[str, Any], fd: int) -> None:
    """In the forked child: become the service; never returns."""
    code = 1
    try:
        control.close()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import uvicorn

        uvicorn.run(f"services.{request['name']}.main:app", fd=fd)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _exit_code(pid: int, codes: dict[int, int]) -> int | None:
    if pid in codes:
        return codes[pid]
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:
        return None
    codes[pid] = os.waitstatus_to_exitcode(status)
    return codes[pid]


def serve(control: socket.socket) -> None:
    for name in SERVICES:
        importlib.import_module(f"services.{name}.bootstrap")
    for module in ("uvicorn", "uvicorn.loops.auto", "uvicorn.protocols.http.auto"):
        importlib.import_module(module)
    codes: dict[int, int] = {}
    children: set[int] = set()
    control.send(b'{"ready": true}')
    while True:
        data, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
        if not data:  # the pytest worker is gone: so are its services
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        request = json.loads(data)
        reply: dict[str, Any]
        if request["op"] == "start":
            pid = os.fork()
            if pid == 0:
                _child(control, request, fds[0])
            os.close(fds[0])
            children.add(pid)
            reply = {"pid": pid}
        elif request["op"] == "wait":
            deadline = time.monotonic() + request["timeout"]
            code = _exit_code(request["pid"], codes)
            while code is None and time.monotonic() < deadline:
                time.sleep(0.05)
                code = _exit_code(request["pid"], codes)
            reply = {"code": code}
        else:  # poll
            reply = {"code": _exit_code(request["pid"], codes)}
        control.send(json.dumps(reply).encode())


# -- the pytest side ---------------------------------------------------------------------------


class ForkServer:
    def __init__(self, cwd: Path) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.cwd = cwd
        self.control = ours
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.forkserver", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        assert json.loads(self.control.recv(MAX_MESSAGE)) == {"ready": True}

    def ask(self, request: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        with self.lock:
            socket.send_fds(self.control, [json.dumps(request).encode()], list(fds))
            reply = self.control.recv(MAX_MESSAGE)
        if not reply:
            raise RuntimeError(f"the e2e fork server is gone (exit {self.proc.poll()})")
        answer: dict[str, Any] = json.loads(reply)
        return answer

    def start(self, name: str, env: dict[str, str], sock: socket.socket, log: Path) -> Forked:
        request = {"op": "start", "name": name, "env": env, "cwd": str(self.cwd), "log": str(log)}
        return Forked(self, self.ask(request, (sock.fileno(),))["pid"])

    def close(self) -> None:
        self.control.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


class Forked:
    """A forked service, answering as the `subprocess.Popen` of a service would."""

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server, self.pid = server, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.ask({"op": "poll", "pid": self.pid})["code"]
        return self.returncode

    def wait(self, timeout: float) -> int:
        if self.returncode is None:
            answer = self.server.ask({"op": "wait", "pid": self.pid, "timeout": timeout})
            if answer["code"] is None:
                raise subprocess.TimeoutExpired(f"service {self.pid}", timeout)
            self.returncode = answer["code"]
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


if __name__ == "__main__":
    serve(socket.socket(fileno=int(sys.argv[1])))

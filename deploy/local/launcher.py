"""`python -m deploy.local run|infra`: the whole platform (or its infrastructure) in the foreground.

Start order: lock and port checks → prepare (Kafka jars, FerretDB build, PostgreSQL install) →
Kafka, the SMTP catcher and PostgreSQL, then FerretDB on it → topics → the four services
(uvicorn) → /readyz → demo data → summary.
Ctrl-C or SIGTERM stops the services first, then the infrastructure. A process that dies on
its own is reported and stops everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
import time
import traceback
import unicodedata
from pathlib import Path

import httpx

from deploy.local.config import SERVICE_TITLES, SERVICES, ConfigError, LocalConfig
from deploy.local.infra import (
    InfraError,
    LocalInfra,
    ManagedProcess,
    PrerequisiteError,
    port_in_use,
    prepare,
)
from deploy.local.prepare import REPO_ROOT
from deploy.local.webhook_receiver import DemoReceiver
from shared.keys import ensure_keys


class LaunchError(RuntimeError):
    """Something the person at the terminal has to fix; the message says what."""


class RunLock:
    """`var/run.lock`, held with fcntl for as long as the launcher runs; holds its pid."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LaunchError(
                f"Gonghui 已在运行（pid {pid}），请先在原终端按 Ctrl-C 停止它。\n"
                f"Gonghui is already running (pid {pid}); stop it with Ctrl-C in its "
                f"terminal first.  (lock: {show(self.path)})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def show(path: Path) -> str:
    """A path as short as it can be said from the current folder."""
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


def check_ports(config: LocalConfig, services: bool) -> None:
    busy = [(what, port) for what, port in config.named_ports(services) if port_in_use(port)]
    if busy:
        lines = [
            f"  端口 {port} 已被其他程序占用 / port {port} is already in use: {what}"
            for what, port in busy
        ]
        first = busy[0][1]
        raise LaunchError(
            "\n".join(lines) + "\n请停止占用端口的程序（查看：ss -ltnp 'sport = :"
            f"{first}'），或用上面括号里的环境变量换一个端口。\n"
            "Stop the program that holds the port (see: ss -ltnp 'sport = :"
            f"{first}'), or choose another port with the variable in brackets."
        )


class Service(ManagedProcess):
    """One Gonghui service as `uvicorn services.<name>.main:app`."""

    def __init__(self, name: str, port: int, log_dir: Path, env: dict[str, str]) -> None:
        super().__init__(REPO_ROOT, log_dir)
        self.name = name
        self.port = port
        self._env = env

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return self._env

    def command(self) -> list[str]:
        app = f"services.{self.name}.main:app"
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    async def healthy(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{self.url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


def pad(label: str, width: int = 24) -> str:
    """label padded to a display width (CJK characters take two columns)."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in label)
    return label + " " * max(1, width - cols)


def say(message: str = "") -> None:
    print(message, flush=True)


class Launcher:
    def __init__(self, config: LocalConfig, with_services: bool) -> None:
        self.config = config
        self.with_services = with_services
        self.infra: LocalInfra | None = None
        self.services: list[Service] = []
        self.stop_requested = asyncio.Event()
        self.signals = 0
        self.receiver: DemoReceiver | None = None  # the demo's webhook receiver

    # -- signals -----------------------------------------------------------------------------

    def _on_signal(self, signame: str) -> None:
        self.signals += 1
        if self.signals == 1:
            say(f"\n收到 {signame}，正在停止… / got {signame}, stopping …")
            self.stop_requested.set()
        else:  # a second Ctrl-C: do not make them wait for graceful shutdowns
            say("再次收到信号，强制结束 / again: killing everything now")
            for p in self._all():
                p.kill()

    def _all(self) -> list[ManagedProcess]:
        return [*self.services, *(self.infra.processes if self.infra else [])]

    # -- start -------------------------------------------------------------------------------

    async def _start(self, paths) -> None:
        config = self.config
        storage = "PostgreSQL, " if config.mongo_backend == "postgresql" else ""
        say(f"启动基础设施 / starting Kafka, {storage}FerretDB and the SMTP catcher …")
        t0 = time.monotonic()
        self.infra = LocalInfra(
            config.var,
            paths,
            config.ports,
            log_dir=config.logs,
            kafka_heap=config.kafka_heap,
            backend=config.mongo_backend,
        )
        await self.infra.start(config.ready_timeout_s, topic_prefix="", say=say)
        say(f"  infrastructure ready in {time.monotonic() - t0:.1f}s")
        self._mention_sqlite_data()
        if not self.with_services:
            return
        say(f"启动服务 / starting the services … (网页 web: {config.service_url('web')}/)")
        t0 = time.monotonic()
        # The platform's own keys, made in var/keys on the first start and kept after: no
        # running platform uses the checked-in development keys. Set in this process too,
        # where the demo seeding signs its tokens.
        os.environ.update(ensure_keys(config.var / "keys"))
        env = {
            **os.environ,
            # A developer's machine: plain http (no Secure cookies); the keys are still its own.
            "GONGHUI_ENV": os.environ.get("GONGHUI_ENV") or "development",
            "GONGHUI_KAFKA_BOOTSTRAP": self.infra.kafka_bootstrap,
            "GONGHUI_MONGO_URL": self.infra.mongo_url,
            "GONGHUI_SMTP_HOST": self.infra.smtp_host,
            "GONGHUI_SMTP_PORT": str(self.infra.smtp_port),
            # Every process listens on loopback: members believes the browser address web
            # names (X-Gonghui-Client) for its sign-in throttles.
            "GONGHUI_TRUSTED_PROXIES": "127.0.0.1,::1",
        }
        if env["GONGHUI_ENV"] == "development":  # the demo receiver listens on loopback
            env["GONGHUI_WEBHOOK_ALLOW_LOCAL"] = "true"
        # The web front end calls the others; notify's e-mailed login links point at it.
        env.update(
            {
                "GONGHUI_WEB_MEMBERS_URL": config.service_url("members"),
                "GONGHUI_WEB_EVENTS_URL": config.service_url("events"),
                "GONGHUI_WEB_WELFARE_URL": config.service_url("welfare"),
                "GONGHUI_WEB_NOTIFY_URL": config.service_url("notify"),
                "GONGHUI_WEB_BASE_URL": config.service_url("web"),
            }
        )
        self.services = [
            Service(name, config.service_ports[name], config.logs, env) for name in SERVICES
        ]
        for service in self.services:
            service.launch()
        await asyncio.gather(*(self._ready(s) for s in self.services))
        say(f"  services ready in {time.monotonic() - t0:.1f}s")
        if config.demo:
            await self._seed()

    def _mention_sqlite_data(self) -> None:
        """A var/ from before PostgreSQL became the default keeps its data in SQLite files."""
        pg = self.infra.postgres if self.infra else None
        sqlite = self.config.var / "ferretdb" / "sqlite"
        if pg is None or not pg.cold_start or not any(sqlite.glob("*.sqlite")):
            return
        say(
            f"  注意：{show(sqlite)}/ 里有 SQLite 存储的旧数据，新的 PostgreSQL 存储里没有它们；"
            "设置 GONGHUI_LOCAL_MONGO_BACKEND=sqlite 可继续使用旧数据。\n"
            f"  Note: {show(sqlite)}/ holds data of the SQLite storage, which the new "
            "PostgreSQL storage does not have; GONGHUI_LOCAL_MONGO_BACKEND=sqlite uses it."
        )

    async def _ready(self, service: Service) -> None:
        try:
            await service.wait_healthy(self.config.ready_timeout_s)
        except InfraError as exc:
            raise LaunchError(
                f"服务 {service.name} 未就绪 / service {service.name} did not become ready "
                f"(GET {service.url}/readyz).\n请查看日志 / see its log: {show(service.log_file)}"
                f"\n{exc}"
            ) from None
        say(f"  {service.name} ready on {service.url} (pid {service.pid})")

    async def _seed(self) -> None:
        from deploy.local.demo import members
        from deploy.local.demo.client import SeedError
        from deploy.local.demo.order import SEEDERS, line

        try:
            for seeder in SEEDERS:
                added, existing = await seeder.seed(self.config.service_url(seeder.service))
                say(f"  {line(seeder, added, existing)}")
                if seeder.seed is members.seed:
                    await self._seed_webhooks()  # before the activities: their events reach it
            given = await members.seed_passwords(self.config.service_url("members"))
            say(
                f"  演示密码 demo passwords: {given} set to {members.DEMO_PASSWORD} "
                "(changed at the first sign-in)"
            )
        except (SeedError, httpx.HTTPError) as exc:
            say(
                f"  演示数据写入失败（平台照常运行）/ demo data failed (the platform runs on): {exc}"
            )

    async def _seed_webhooks(self) -> None:
        """The demo receiver, and a subscription to it (before the activities: their events
        reach it). Only on a development platform: elsewhere loopback URLs are refused."""
        from deploy.local.demo import webhooks

        if (os.environ.get("GONGHUI_ENV") or "development") != "development":
            return
        self.receiver = DemoReceiver(self.config.var, self.config.logs)
        try:
            await self.receiver.start()
        except OSError as exc:
            say(f"  演示 Webhook 接收器未启动 / demo webhook receiver not started: {exc}")
            return
        added, existing = await webhooks.seed(self.config.service_url("notify"), self.receiver)
        say(
            f"  演示 Webhook demo webhook: {self.receiver.url} ({added} added, {existing} there), "
            f"log {show(self.receiver.log_file)}"
        )

    # -- run ---------------------------------------------------------------------------------

    async def run(self, paths) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig.name)
        code = 0
        try:
            starting = asyncio.create_task(self._start(paths))
            stopping = asyncio.create_task(self.stop_requested.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await starting
                return 130
            stopping.cancel()
            starting.result()  # raises what went wrong
            self._summary()
            code = await self._supervise()
        except (LaunchError, InfraError) as exc:
            say(f"\n{exc}")
            code = 1
        except Exception:
            say("\n启动失败 / start failed:")
            traceback.print_exc()
            code = 1
        finally:
            await self._shutdown()
        return code

    async def _supervise(self) -> int:
        while not self.stop_requested.is_set():
            for p in self._all():
                if not p.running:
                    say(
                        f"\n{p.name} 意外退出（exit code {p.proc.returncode if p.proc else '?'}），"
                        f"正在停止全部进程。/ {p.name} exited unexpectedly; stopping everything.\n"
                        f"日志 log: {show(p.log_file)}\n{p.log_tail(20)}"
                    )
                    return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_requested.wait(), 0.5)
        return 0

    async def _shutdown(self) -> None:
        if not self._all():
            return
        t0 = time.monotonic()
        await asyncio.gather(*(s.stop(30) for s in self.services))
        if self.receiver is not None:
            await self.receiver.stop()
        if self.infra:
            # Kafka last: the services' consumers and relays say goodbye to it first.
            await asyncio.gather(self.infra.smtp.stop(10), self.infra.stop_storage(20))
            await self.infra.kafka.stop(30)
        say(
            f"Gonghui 已停止（用时 {time.monotonic() - t0:.1f}s），数据保留在 {show(self.config.var)}/。"
            f"\nGonghui stopped; the data stays in {show(self.config.var)}/."
        )

    def _summary(self) -> None:
        c, infra = self.config, self.infra
        assert infra is not None
        rule = "─" * 72
        lines = ["", rule]
        if self.with_services:
            lines.append(
                f" Gonghui 工会 已启动 / is running   (pid {os.getpid()}, Ctrl-C 停止 / stops)"
            )
            lines.append(rule)
            web = c.service_url("web")
            lines.append(f" {pad('网页 web front end')}{web}/   ← 从这里开始 / start here")
            for s in self.services:
                if s.name != "web":
                    lines.append(
                        f" {pad(f'{SERVICE_TITLES[s.name]} {s.name} API docs')}{s.url}/docs"
                    )
        else:
            lines.append(
                f" 基础设施已启动 / infrastructure is running   (pid {os.getpid()}, Ctrl-C)"
            )
            lines.append(rule)
        mail = infra.maildir
        pg = infra.postgres
        storage = f"on PostgreSQL {pg.version}" if pg else "on SQLite"
        rows = [
            ("Kafka", infra.kafka_bootstrap),
            ("MongoDB wire (FerretDB)", f"{infra.mongo_url}   ({storage})"),
            *([("PostgreSQL", f"127.0.0.1:{pg.port}   (FerretDB's storage)")] if pg else []),
            ("SMTP", f"{infra.smtp_host}:{infra.smtp_port}"),
            ("邮件 Maildir", f"{show(mail)}/   (new mail: {show(mail / 'new')}/)"),
            ("日志 logs", f"{show(c.logs)}/"),
            ("数据 data", f"{show(c.var)}/   (删除即重置 / delete it to start clean)"),
        ]
        lines += [f" {pad(k)}{v}" for k, v in rows]
        if self.with_services:
            members, notify = c.service_url("members"), c.service_url("notify")
            lines += [
                rule,
                " 管理员令牌 admin token:",
                "   ADMIN=$(.venv/bin/gonghui token --role admin --campus '*')",
                " 示例 try it:",
                f'   curl -s {members}/members -H "Authorization: Bearer $ADMIN"',
                f'   curl -s -X POST {members}/members -H "Authorization: Bearer $ADMIN" \\',
                "     -H 'Content-Type: application/json' \\",
                '     -d \'{"staff_no":"T2026101","name":"陈静","campus":"main",'
                '"department":"艺术系","email":"chen@school.local"}\'',
                "   MEMBER=$(.venv/bin/gonghui token --role member --campus main --subject <id>)",
                f'   curl -s {notify}/inbox -H "Authorization: Bearer $MEMBER"',
            ]
        else:
            lines += [
                rule,
                " 开发时的环境变量 / for a service you start yourself:",
                f"   export GONGHUI_KAFKA_BOOTSTRAP={infra.kafka_bootstrap}",
                f"   export GONGHUI_MONGO_URL={infra.mongo_url}",
                f"   export GONGHUI_SMTP_HOST={infra.smtp_host} GONGHUI_SMTP_PORT={infra.smtp_port}",
            ]
            if pg:
                lines += [
                    " FerretDB 的 PostgreSQL / FerretDB's tables in PostgreSQL:",
                    f"   PGPASSWORD=$(cat {show(pg.password_file)}) {pg.bin_dir}/psql "
                    f"-h 127.0.0.1 -p {pg.port} -U gonghui ferretdb",
                ]
        lines.append(rule)
        say("\n".join(lines))


def main(with_services: bool) -> int:
    try:
        config = LocalConfig.from_env()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    lock = RunLock(config.lock_file)
    try:
        lock.acquire()
        check_ports(config, with_services)
        t0 = time.monotonic()
        # May download, build and install: Ctrl-C here just stops.
        paths = prepare(say=say, backend=config.mongo_backend)
        if with_services:
            from deploy.web.assets import AssetError, fetch

            try:
                fetch(say)  # the web front end's htmx, Alpine.js, WeUI (npm, once)
            except AssetError as exc:
                raise LaunchError(str(exc)) from None
        if time.monotonic() - t0 > 1:
            say(f"  prepared in {time.monotonic() - t0:.0f}s")
        return asyncio.run(Launcher(config, with_services).run(paths))
    except (LaunchError, PrerequisiteError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=sys.stderr)
        return 130
    finally:
        lock.release()

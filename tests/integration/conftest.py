"""Services built in-process by their own composition roots, against the real broker and DB.

`build_stack(infra, ["members", "events"])` starts any set of services; each stack gets fresh
names (database, topic prefix, consumer group), so stacks share the session's broker and
database server without seeing each other's data. `stack` gives each test its own
members + notify; tests that only add data under their own keys can share one stack per
module (`module_stack`), which saves the start-up of four consumers per test. A module that
needs other services, or one shared stack under the name `stack`, declares it with
`stack = stack_fixture(...)` (below) instead of writing its own fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest

from shared.aggregate import A, AggregateStore
from shared.auth import mint_token
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.topics import delete_topics, ensure_topics

ALL_SERVICES = ("members", "events", "welfare", "notify")
DEFAULT_SERVICES = ("members", "notify")  # what `stack` and build_stack start unless told
# The organisation every test stack starts with (members checks departments against it).
CAMPUSES = ("main", "east", "west", "north")
DEPARTMENTS = ["学前教育系", "艺术系", "音乐系", "体育部", "后勤处"]
SMALL_GROUPS = [{"code": "g-art", "name": "艺术教工小家"}, {"code": "g-pe", "name": "体育教工小家"}]


async def seed_org(runtime: ServiceRuntime) -> None:
    from services.members.org.domain import CampusDefinition
    from shared.aggregate import Actor

    for code in CAMPUSES:
        definition = CampusDefinition(
            name=f"{code}校区", departments=DEPARTMENTS, small_groups=SMALL_GROUPS
        )
        await runtime.context.org.define(code, definition, Actor("test-seed"))
    # Published before the test begins: tests that count what is pending start from zero.
    deadline = asyncio.get_running_loop().time() + 30
    while await runtime.relay.backlog():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the organisation's events were not published")
        await asyncio.sleep(0.05)


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    [cls] = [
        c
        for c in vars(module).values()
        if isinstance(c, type) and issubclass(c, ServiceSettings) and c.service == service
    ]
    return cls


@dataclass
class Stack:
    infra: Any
    prefix: str
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # stack.members → the runtime, stack.members_http → its HTTP client
        runtimes, clients = self.__dict__["runtimes"], self.__dict__["clients"]
        if name in runtimes:
            return runtimes[name]
        if name.endswith("_http") and name[:-5] in clients:
            return clients[name[:-5]]
        raise AttributeError(name)

    @property
    def bootstrap(self) -> str:
        return self.infra.kafka_bootstrap

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def cadre_headers(self, campus: str = "main") -> dict[str, str]:
        return bearer("cadre-1", ["cadre"], [campus])

    def member_headers(self, member_id: str, campus: str = "main") -> dict[str, str]:
        return bearer(member_id, ["member"], [campus])


def replica_of(store: AggregateStore[A], db: Any = None) -> AggregateStore[A]:
    """The same store as another replica (or the service after a restart) has it: nothing
    remembered, everything read from the server (`db`: through another client)."""
    return AggregateStore(
        store.db if db is None else db,
        store.outbox,
        store.model,
        name=store.name,
        topic=store.topic,
        not_found=store.not_found,
        max_tries=store.max_tries,
        sealer=store.sealer,
    )


def bearer(subject: str, roles: list[str], campuses: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject, roles, campuses)}"}


# Passwords are hashed with argon2id's smallest memory (8 MiB, ~10 ms) in tests instead of the
# production 46 MiB (~100 ms on this machine): the suite signs in, fails sign-ins and is fuzzed
# on /auth thousands of times, and the cost is a setting, not a rule anything asserts. The
# production parameters are the settings' defaults; `make bench` measures sign-in with them.
TEST_SETTINGS = {"password_hash_memory_kib": 8192}


def settings_for(cls, infra, prefix: str, **over):
    smtp = {"smtp_host": infra.smtp_host, "smtp_port": infra.smtp_port}
    extra = {k: v for k, v in {**smtp, **TEST_SETTINGS}.items() if k in cls.model_fields}
    return cls.isolated(
        prefix,
        infra.kafka_bootstrap,
        infra.mongo_url,
        handler_retry_backoff_ms=20,
        job_tick_s=0.2,
        **{**extra, **over},
    )


async def build_stack(
    infra,
    services: Sequence[str] = DEFAULT_SERVICES,
    *,
    settings: dict[str, dict[str, Any]] | None = None,
    mailer: Any = None,
) -> Stack:
    """Start `services` in-process on the session's servers, isolated by a fresh prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(infra.kafka_bootstrap, prefix)
    stack = Stack(infra=infra, prefix=prefix)
    try:
        for name in services:
            over = (settings or {}).get(name, {})
            bootstrap = importlib.import_module(f"services.{name}.bootstrap").bootstrap
            extra = {"mailer": mailer} if name == "notify" and mailer is not None else {}
            stack.runtimes[name] = bootstrap(
                settings_for(settings_class(name), infra, prefix, **over),
                configure_logs=False,
                **extra,
            )
        # The services start side by side (most of a start is waiting on the database's
        # index builds): they only meet through Kafka, as in production.
        started = await asyncio.gather(
            *(runtime.start() for runtime in stack.runtimes.values()), return_exceptions=True
        )
        for failed in started:
            if isinstance(failed, BaseException):
                raise failed
        if "members" in stack.runtimes:
            await seed_org(stack.runtimes["members"])
        for name, runtime in stack.runtimes.items():
            stack.clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=runtime.app), base_url=f"http://{name}"
            )
    except BaseException:
        await close_stack(stack)
        raise
    return stack


async def close_stack(stack: Stack) -> None:
    for client in stack.clients.values():
        await client.aclose()
    # Side by side too; every runtime is stopped even when another's stop fails.
    stopped = await asyncio.gather(
        *(runtime.stop(drop_database=True) for runtime in stack.runtimes.values()),
        return_exceptions=True,
    )
    # Each stack's topics go with it: the broker keeps files open per partition, and a
    # session of a few hundred stacks would otherwise pass the open-files limit.
    with contextlib.suppress(Exception):
        await delete_topics(stack.infra.kafka_bootstrap, stack.prefix)
    for failed in stopped:
        if isinstance(failed, BaseException):
            raise failed


def stack_fixture(
    *services: str,
    scope: Literal["function", "module"] = "function",
    name: str = "stack",
):
    """The one way a test module gets a stack: `stack = stack_fixture("members", "events",
    scope="module")` at the top of the module. Without services: members + notify. `function`
    scope gives each test its own; `module` shares one between the module's tests (for tests
    that only add data under their own keys, and module fixtures that fill it once)."""
    chosen = tuple(services) or DEFAULT_SERVICES

    @pytest.fixture(scope=scope, name=name)
    async def fixture(infra) -> AsyncIterator[Stack]:
        s = await build_stack(infra, chosen)
        try:
            yield s
        finally:
            await close_stack(s)

    return fixture


stack = stack_fixture()  # each test its own members + notify
module_stack = stack_fixture(scope="module", name="module_stack")  # one for the module


async def join(stack: Stack, staff_no: str, **over) -> dict:
    body = {
        "staff_no": staff_no,
        "name": "王芳",
        "campus": "main",
        "department": "学前教育系",
        **over,
    }
    headers = stack.cadre_headers(body["campus"])
    response = await stack.members_http.post("/members", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()

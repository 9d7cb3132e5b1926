"""Services built in-process by their own composition roots, against the real broker and DB.

Each test gets fresh names (database, topic prefix, consumer group) so tests share the one
broker and database server of the session without seeing each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from services.members.bootstrap import bootstrap as members_bootstrap
from services.members.settings import MembersSettings
from services.notify.bootstrap import bootstrap as notify_bootstrap
from services.notify.handlers import Mailer
from services.notify.settings import NotifySettings
from shared.auth import mint_token
from shared.runtime import ServiceRuntime
from shared.topics import ensure_topics


@dataclass
class Stack:
    infra: object
    prefix: str
    members: ServiceRuntime
    notify: ServiceRuntime
    members_http: httpx.AsyncClient
    notify_http: httpx.AsyncClient
    started: list[ServiceRuntime] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return self.infra.kafka_bootstrap  # type: ignore[attr-defined]

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def cadre_headers(self, campus: str = "main") -> dict[str, str]:
        return bearer("cadre-1", ["cadre"], [campus])

    def member_headers(self, member_id: str, campus: str = "main") -> dict[str, str]:
        return bearer(member_id, ["member"], [campus])


def bearer(subject: str, roles: list[str], campuses: list[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject, roles, campuses)}"}


def settings_for(cls, infra, prefix: str, **over):
    return cls.isolated(
        prefix, infra.kafka_bootstrap, infra.mongo_url, handler_retry_backoff_ms=20, **over
    )


async def build_stack(
    infra, mailer: Mailer | None = None, members_over: dict | None = None, **notify_over
) -> Stack:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    await ensure_topics(infra.kafka_bootstrap, prefix)
    smtp = {"smtp_host": infra.smtp_host, "smtp_port": infra.smtp_port}
    members = members_bootstrap(
        settings_for(MembersSettings, infra, prefix, **(members_over or {})), configure_logs=False
    )
    notify = notify_bootstrap(
        settings_for(NotifySettings, infra, prefix, **smtp, **notify_over),
        mailer=mailer,
        configure_logs=False,
    )
    stack = Stack(
        infra=infra,
        prefix=prefix,
        members=members,
        notify=notify,
        members_http=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=members.app), base_url="http://members"
        ),
        notify_http=httpx.AsyncClient(
            transport=httpx.ASGITransport(app=notify.app), base_url="http://notify"
        ),
    )
    for runtime in (members, notify):
        await runtime.start()
        stack.started.append(runtime)
    return stack


async def close_stack(stack: Stack) -> None:
    for client in (stack.members_http, stack.notify_http):
        await client.aclose()
    for runtime in stack.started:
        await runtime.stop(drop_database=True)


@pytest.fixture
async def stack(infra) -> AsyncIterator[Stack]:
    s = await build_stack(infra)
    try:
        yield s
    finally:
        await close_stack(s)


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

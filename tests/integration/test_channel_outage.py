"""An SMTP outage delays welcomes; it neither dead-letters them nor stalls other partitions."""

from __future__ import annotations

import mailbox

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from deploy.local.infra import free_port
from services.members.membership.domain import member_id_for
from shared.dlq import list_dead_letters
from tests.integration.conftest import build_stack, close_stack, join
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


def partition_of(staff_no: str, partitions: int = 3) -> int:
    key = member_id_for(staff_no).encode()
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))


def on_other_partitions(prefix: str) -> tuple[str, str]:
    first = f"{prefix}0"
    for i in range(1, 100):
        if partition_of(f"{prefix}{i}") != partition_of(first):
            return first, f"{prefix}{i}"
    raise AssertionError("no two partitions found")


async def test_an_smtp_outage_waits_instead_of_dead_lettering(infra, tmp_path):
    port = free_port()  # nothing listens here yet: the school's mail relay is down
    stack = await build_stack(
        infra,
        settings={
            "notify": {"smtp_port": port, "handler_max_attempts": 2, "handler_wait_max_s": 1}
        },
    )
    smtp = None
    try:
        mailed, silent = on_other_partitions("O")
        waiting = await join(stack, mailed, email="o@school.local")
        await wait_until(lambda: _waiting(stack), 30, "the handler to wait for SMTP")
        # Another partition keeps flowing while this one waits.
        other = await join(stack, silent, name="陈晨")
        inbox = stack.notify.db["inbox"]
        await wait_until(lambda: _has(inbox, other["id"]), 30, "the other partition's welcome")
        assert await _has(inbox, waiting["id"])  # the in-app copy does not need SMTP …
        assert not await _mail_sent(stack, "o@school.local")  # … the e-mail waits
        assert await list_dead_letters(stack.bootstrap, stack.topic("members.member.dlq")) == []

        maildir = tmp_path / "mail"
        smtp = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
        smtp.start()  # the relay is back

        async def delivered() -> bool:
            return any(m["To"] == "o@school.local" for m in mailbox.Maildir(str(maildir)))

        await wait_until(delivered, 30, "the welcome e-mail after the outage")
        await wait_until(lambda: _mail_sent(stack, "o@school.local"), 30, "the delivery record")
        await wait_until(lambda: _not_waiting(stack), 15, "the waiting gauge to drop")
        assert await list_dead_letters(stack.bootstrap, stack.topic("members.member.dlq")) == []
    finally:
        if smtp:
            smtp.stop()
        await close_stack(stack)


async def _waiting(stack) -> bool:
    metrics = (await stack.notify_http.get("/metrics")).text
    return any(
        line.startswith("gonghui_handler_waiting{") and line.endswith(" 1.0")
        for line in metrics.splitlines()
    )


async def _not_waiting(stack) -> bool:
    return not await _waiting(stack)


async def _mail_sent(stack, to: str) -> bool:
    deliveries = stack.notify.db["deliveries"]
    return await deliveries.find_one({"to": to, "status": "sent"}) is not None


async def _has(inbox, member_id: str) -> bool:
    return await inbox.find_one({"member_id": member_id}) is not None

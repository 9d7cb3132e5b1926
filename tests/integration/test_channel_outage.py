"""An SMTP outage delays e-mail; it neither fails nor dead-letters anything, and stalls no
partition: the Kafka handler only queues the e-mail, the delivery worker waits out the outage."""

from __future__ import annotations

import mailbox

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from deploy.local.infra import free_port
from shared.dlq import list_dead_letters
from tests.integration.conftest import build_stack, close_stack, join
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


async def test_an_smtp_outage_waits_instead_of_dead_lettering(infra, tmp_path):
    port = free_port()  # nothing listens here yet: the school's mail relay is down
    over = {
        "smtp_port": port,
        "handler_max_attempts": 2,
        "delivery_max_attempts": 2,
        "delivery_backoff_s": 0.05,
        "delivery_poll_s": 0.1,
    }
    stack = await build_stack(infra, settings={"notify": over})
    smtp = None
    try:
        waiting = await join(stack, "O0", email="o@school.local")
        other = await join(stack, "O1", name="陈晨")
        inbox = stack.notify.db["inbox"]
        deliveries = stack.notify.db["deliveries"]
        await wait_until(lambda: _has(inbox, other["id"]), 30, "the other member's welcome")
        await wait_until(lambda: _has(inbox, waiting["id"]), 30, "the in-app copy")
        query = {"member_id": waiting["id"], "channel": "email"}

        async def tried_several_times() -> bool:
            doc = await deliveries.find_one(query)
            return bool(doc and doc.get("tries", 0) >= 4)

        # Tried more often than the attempts a refusal gets, and still only waiting.
        await wait_until(tried_several_times, 30, "the worker to keep trying")
        doc = await deliveries.find_one(query)
        assert doc["status"] == "queued" and doc["failures"] == 0
        assert "渠道暂时不可用" in doc["last_error"]
        for topic in ("members.member", "members.contact"):
            assert await list_dead_letters(stack.bootstrap, stack.topic(f"{topic}.dlq")) == []

        maildir = tmp_path / "mail"
        smtp = Controller(Mailbox(maildir), hostname="127.0.0.1", port=port)
        smtp.start()  # the relay is back

        async def delivered() -> bool:
            return any(m["To"] == "o@school.local" for m in mailbox.Maildir(str(maildir)))

        await wait_until(delivered, 30, "the welcome e-mail after the outage")

        async def sent() -> bool:
            found = await deliveries.find_one(query)
            return bool(found and found["status"] == "sent")

        await wait_until(sent, 30, "the delivery record")
        assert len(list(mailbox.Maildir(str(maildir)))) == 1
        assert await deliveries.count_documents({"status": "failed"}) == 0
        for topic in ("members.member", "members.contact"):
            assert await list_dead_letters(stack.bootstrap, stack.topic(f"{topic}.dlq")) == []
    finally:
        if smtp:
            smtp.stop()
        await close_stack(stack)


async def _has(inbox, member_id: str) -> bool:
    return await inbox.find_one({"member_id": member_id}) is not None

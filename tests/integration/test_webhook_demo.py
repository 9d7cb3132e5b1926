"""The demo's webhook receiver (`make run`): the seeding registers it once and hands it the
secret, and an event reaches it with a signature it verifies."""

from __future__ import annotations

import httpx
import pytest

from deploy.local.demo import webhooks
from deploy.local.webhook_receiver import DemoReceiver
from tests.integration.conftest import build_stack, close_stack
from tests.integration.test_webhooks import LOCAL, publish, threshold_event
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration


async def test_the_demo_receiver_is_registered_once_and_verifies_what_it_gets(infra, tmp_path):
    stack = await build_stack(infra, ["notify"], settings={"notify": LOCAL})
    receiver = DemoReceiver(tmp_path / "var", tmp_path / "logs", listen_port=0)
    await receiver.start()
    try:
        transport = httpx.ASGITransport(app=stack.notify.app)
        types = ["welfare.budget."]
        assert await webhooks.seed("http://notify", receiver, types, transport) == (1, 0)
        assert receiver.secret_file.stat().st_mode & 0o077 == 0

        async def listed() -> bool:
            found = await stack.notify_http.get("/webhooks", headers=_admin())
            return any(s["url"] == receiver.url for s in found.json())

        await wait_until(listed, 15, "the demo subscription in the list")
        # The next `make run` finds it: nothing registered twice.
        assert await webhooks.seed("http://notify", receiver, types, transport) == (0, 1)
        envelope = threshold_event("spend_demo")
        await publish(stack, envelope)

        async def logged() -> bool:
            return receiver.log_file.is_file() and envelope.id in receiver.log_file.read_text()

        await wait_until(logged, 20, "the event in the receiver's log")
        [line] = [x for x in receiver.log_file.read_text().splitlines() if envelope.id in x]
        assert "signature ok" in line and "welfare.budget.threshold_reached.v1" in line

        # A receiver that lost its secret gets a rotated one on the next seeding.
        receiver.secret_file.unlink()
        assert await webhooks.seed("http://notify", receiver, types, transport) == (0, 1)
        assert receiver.secret_file.read_text().startswith("whsec_")
    finally:
        await receiver.stop()
        await close_stack(stack)


def _admin() -> dict[str, str]:
    from tests.integration.conftest import bearer

    return bearer("admin-demo", ["admin"], ["*"])

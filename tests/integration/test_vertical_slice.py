"""members → members.member.joined.v1 on Kafka → notify inbox, on the real broker and DB."""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import sys
from email.header import decode_header, make_header

import pytest
from aiokafka import AIOKafkaProducer
from aiosmtplib import SMTPRecipientRefused

from shared.dlq import list_dead_letters, replay
from tests.integration.conftest import Stack, build_stack, close_stack, join, stack_fixture
from tests.kafka_tools import read_all, wait_caught_up, wait_until

pytestmark = pytest.mark.integration

# One members + notify for the module: each test enrols under its own staff numbers
# (`unique`) and reads back only its own members' records. A test that changes settings or
# stops the broker builds its own stack.
stack = stack_fixture(scope="module")


def staff_no_of(unique: str) -> str:
    """A staff number no other test uses (T + 12 hex digits, as the rule wants it)."""
    return unique.upper()


def email_of(staff_no: str) -> str:
    return f"{staff_no.lower()}@school.local"


def records_of(records: list, member_id: str) -> list:
    """The records that carry this member's id (the shared topic holds other tests' too)."""
    return [r for r in records if member_id.encode() in r.value]


async def inbox_of(stack: Stack, member_id: str) -> list[dict]:
    response = await stack.notify_http.get("/inbox", headers=stack.member_headers(member_id))
    assert response.status_code == 200, response.text
    return response.json()


async def wait_inbox(stack: Stack, member_id: str, count: int = 1) -> list[dict]:
    async def arrived() -> bool:
        return len(await inbox_of(stack, member_id)) >= count

    await wait_until(arrived, 45, f"{count} inbox message(s) for {member_id}")
    return await inbox_of(stack, member_id)


def subjects_in(maildir: str) -> list[str]:
    return [
        str(make_header(decode_header(m["Subject"]))) + "|" + str(m["To"])
        for m in mailbox.Maildir(maildir)
    ]


async def test_joined_member_gets_a_welcome_in_the_inbox_and_by_mail(stack: Stack, unique: str):
    email = email_of(staff_no_of(unique))
    member = await join(stack, staff_no_of(unique), email=email)
    [message] = await wait_inbox(stack, member["id"])
    assert message["title"] == "欢迎加入学校工会"
    assert message["body"].startswith("王芳，您好！")
    assert message["created_at"].endswith("+08:00")  # shown in Asia/Shanghai
    # Another member sees nothing of it.
    assert await inbox_of(stack, "someone-else") == []
    if stack.infra.maildir:
        await wait_until(lambda: _has_mail(stack.infra.maildir, email), 15, "welcome e-mail")


async def test_a_member_marks_their_own_notice_read_and_no_one_elses(stack: Stack, unique: str):
    staff_no = staff_no_of(unique)
    member = await join(stack, staff_no, email=email_of(staff_no))
    [message] = await wait_inbox(stack, member["id"])
    assert message["read"] is False
    path = f"/inbox/{message['id']}/read"
    other = await stack.notify_http.patch(path, headers=stack.member_headers("someone-else"))
    assert other.status_code == 404  # another member's notice is not found
    for _ in range(2):  # marking read again is the same
        done = await stack.notify_http.patch(path, headers=stack.member_headers(member["id"]))
        assert done.status_code == 200, done.text
        assert done.json()["read"] is True
    [message] = await inbox_of(stack, member["id"])
    assert message["read"] is True
    missing = await stack.notify_http.patch(
        "/inbox/nothing-here/read", headers=stack.member_headers(member["id"])
    )
    assert missing.status_code == 404


async def _has_mail(maildir: str, to: str) -> bool:
    return any(
        s.endswith("|" + to) and s.startswith("欢迎加入学校工会") for s in subjects_in(maildir)
    )


async def test_the_events_on_kafka_are_cloudevents_without_personal_data(stack: Stack, unique: str):
    email = email_of(staff_no_of(unique))
    member = await join(stack, staff_no_of(unique), phone="13800000002", email=email)
    topic = stack.topic("members.member")
    await wait_caught_up(stack.bootstrap, stack.notify.settings.consumer_group, topic)
    records = records_of(await read_all(stack.bootstrap, topic), member["id"])
    assert [json.loads(r.value)["type"] for r in records] == [
        "members.member.joined.v2",
        "members.member.joined.v1",  # deprecated, still published, without the e-mail
    ]
    for record in records:
        assert record.key.decode() == member["id"]
        event = json.loads(record.value)
        assert event["subject"] == member["id"] and event["campus"] == "main"
        assert "13800000002" not in record.value.decode()
        assert email not in record.value.decode()
    # The contact details travel on their own topic, keyed by member, for notify alone.
    contacts = await read_all(stack.bootstrap, stack.topic("members.contact"))
    [contact] = records_of(contacts, member["id"])
    assert contact.key.decode() == member["id"]
    assert json.loads(contact.value)["data"]["email"] == email


async def test_the_same_event_delivered_twice_makes_one_message(stack: Stack, unique: str):
    member = await join(stack, staff_no_of(unique))
    topic = stack.topic("members.member")
    await wait_inbox(stack, member["id"])
    [v2, _] = records_of(await read_all(stack.bootstrap, topic), member["id"])
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(topic, v2.value, key=v2.key)
    finally:
        await producer.stop()
    await wait_caught_up(stack.bootstrap, stack.notify.settings.consumer_group, topic)
    assert len(await inbox_of(stack, member["id"])) == 1
    again = records_of(await read_all(stack.bootstrap, topic), member["id"])
    assert len(again) == 4  # the duplicates really arrived


async def test_member_creation_succeeds_while_kafka_is_down_and_the_event_follows(infra):
    if not infra.controllable:
        pytest.skip("the broker is not ours to stop (external or container infrastructure)")
    # Its own stack: it stops the broker under the services, and reads every change written.
    stack = await build_stack(infra)
    try:
        await _kafka_down_then_up(infra, stack)
    finally:
        await close_stack(stack)


async def _kafka_down_then_up(infra, stack: Stack) -> None:
    await maybe_await(infra.stop_kafka())
    try:
        member = await join(stack, "S0004")
        assert await stack.members.relay.backlog() == 1  # its pending marker waits for Kafka
        ready = await stack.members_http.get("/readyz")
        assert ready.status_code == 200  # still serving: writes wait in the outbox
    finally:
        await maybe_await(infra.start_kafka())
    [message] = await wait_inbox(stack, member["id"])
    assert message["kind"] == "welcome"
    await wait_caught_up(
        stack.bootstrap, stack.notify.settings.consumer_group, stack.topic("members.member"), 60
    )
    assert len(await inbox_of(stack, member["id"])) == 1
    await wait_until(lambda: _no_backlog(stack), 30, "the pending marker to go")
    [change] = await stack.members.db["members_changes"].find({}).to_list()
    assert [e["type"] for e in change["outbox"]] == [  # kept, as the record of what went out
        "members.member.joined.v2",
        "members.member.joined.v1",
    ]


async def _no_backlog(stack: Stack) -> bool:
    return await stack.members.relay.backlog() == 0


async def maybe_await(value):
    if hasattr(value, "__await__"):
        return await value
    return value


class FlakyMailer:
    """An SMTP stand-in whose relay refuses the message until fixed (a 5xx, not an outage)."""

    def __init__(self) -> None:
        self.broken = True
        self.attempts = 0
        self.sent: list[str] = []

    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        self.attempts += 1
        if self.broken:
            raise SMTPRecipientRefused(550, "5.7.1 relaying denied", to)
        self.sent.append(to)


async def test_a_refused_email_fails_after_n_attempts_and_a_cadre_retries_it(infra):
    """The delivery worker retries a refused e-mail, not the Kafka handler: nothing is
    dead-lettered, the delivery ends failed with its reason, and a cadre's retry sends it."""
    mailer = FlakyMailer()
    over = {"delivery_max_attempts": 3, "delivery_backoff_s": 0.05, "delivery_poll_s": 0.1}
    stack = await build_stack(infra, mailer=mailer, settings={"notify": over})
    try:
        member = await join(stack, "S0005", email="s0005@school.local")
        deliveries = stack.notify.db["deliveries"]
        query = {"member_id": member["id"], "channel": "email"}

        async def failed() -> bool:
            doc = await deliveries.find_one(query)
            return bool(doc and doc["status"] == "failed")

        await wait_until(failed, 45, "the e-mail delivery to fail")
        assert mailer.attempts == 3  # the configured attempts, then failed
        doc = await deliveries.find_one(query)
        assert "relaying denied" in doc["last_error"]
        for topic in ("members.member", "members.contact"):
            assert await list_dead_letters(stack.bootstrap, stack.topic(f"{topic}.dlq")) == []

        mailer.broken = False  # the relay is fixed; a cadre retries from the failed list
        retried = await stack.notify_http.post(
            f"/deliveries/{doc['_id']}/retry", headers=stack.cadre_headers()
        )
        assert retried.status_code == 200, retried.text
        await wait_until(lambda: _sent(mailer), 45, "the retried e-mail")
        assert mailer.sent == ["s0005@school.local"]
        assert len(await inbox_of(stack, member["id"])) == 1
    finally:
        await close_stack(stack)


class TemplateStoreDown(Exception):
    pass


async def test_a_failing_handler_dead_letters_and_replay_brings_it_back(infra):
    stack = await build_stack(infra, settings={"notify": {"handler_max_attempts": 3}})
    templates = stack.notify.context.templates
    attempts: list[str] = []
    text_for = templates.text_for
    broken = True

    async def flaky_text_for(key: str, campus: str):
        attempts.append(key)
        if broken:
            raise TemplateStoreDown("the template store is unreachable")
        return await text_for(key, campus)

    templates.text_for = flaky_text_for
    try:
        member = await join(stack, "S0015", email="s0015@school.local")
        topic = "members.member"
        dlq = stack.topic(f"{topic}.dlq")

        async def dead_lettered() -> bool:
            return len(await list_dead_letters(stack.bootstrap, dlq)) == 1

        await wait_until(dead_lettered, 45, "the dead letter")
        assert attempts == ["welcome"] * 3  # the configured attempts, then the DLQ
        [letter] = await list_dead_letters(stack.bootstrap, dlq)
        assert letter.headers["x-error-type"] == "TemplateStoreDown"
        assert letter.headers["x-original-topic"] == stack.topic(topic)
        assert letter.headers["x-consumer-group"] == stack.notify.settings.consumer_group
        assert not letter.replayed

        listed = await gonghui_cli(stack, "dlq", "list", topic)
        [line] = [json.loads(x) for x in listed.splitlines()]
        assert line["state"] == "pending" and line["x-error-type"] == "TemplateStoreDown"

        broken = False  # the fix is deployed; the operator runs the replay command
        assert "replayed 1 dead letter" in await gonghui_cli(stack, "dlq", "replay", topic)
        await wait_inbox(stack, member["id"])
        [letter] = await list_dead_letters(stack.bootstrap, dlq)
        assert letter.replayed
        assert await replay(stack.bootstrap, dlq) == 0  # a second replay does nothing
        await wait_caught_up(
            stack.bootstrap, stack.notify.settings.consumer_group, stack.topic(topic)
        )
        assert len(await inbox_of(stack, member["id"])) == 1
    finally:
        await close_stack(stack)


async def gonghui_cli(stack: Stack, *args: str) -> str:
    """Run the `gonghui` command an operator would, against this test's topics."""
    env = {
        **os.environ,
        "GONGHUI_KAFKA_BOOTSTRAP": stack.bootstrap,
        "GONGHUI_TOPIC_PREFIX": stack.prefix,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def _sent(mailer: FlakyMailer) -> bool:
    return bool(mailer.sent)


async def test_a_record_that_is_not_a_cloudevent_goes_to_the_dlq(stack: Stack, unique: str):
    topic = stack.topic("members.member")
    poison = b"{not json " + unique.encode()  # its own, to tell its dead letters by
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, poison, key=b"x")
    finally:
        await producer.stop()

    # Every consumer group of the topic gives up on it: notify, notify's webhooks (members.member
    # is offered to webhook subscriptions), and members' own list view.
    notify = stack.notify.settings.consumer_group
    groups = {notify, f"{notify}.webhooks", stack.members.settings.consumer_group}

    async def letters() -> list:
        dead = await list_dead_letters(stack.bootstrap, topic + ".dlq")
        return [letter for letter in dead if letter.value == poison]

    async def dead_lettered() -> bool:
        return len(await letters()) == len(groups)

    await wait_until(dead_lettered, 30, "the poison message in the DLQ")
    mine = await letters()
    assert len(mine) == len(groups)  # once by each group, no more
    assert {letter.headers["x-consumer-group"] for letter in mine} == groups
    for letter in mine:
        assert letter.headers["x-error-type"] == "PoisonMessage"


async def test_the_callers_trace_continues_into_the_event(stack: Stack, unique: str):
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    staff_no = staff_no_of(unique)
    response = await stack.members_http.post(
        "/members",
        json={"staff_no": staff_no, "name": "周", "campus": "main", "department": "艺术系"},
        headers={**stack.cadre_headers(), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 201
    topic = stack.topic("members.member")
    await wait_caught_up(stack.bootstrap, stack.notify.settings.consumer_group, topic)
    records = records_of(await read_all(stack.bootstrap, topic), response.json()["id"])
    assert len(records) == 2  # joined.v2 and the deprecated v1
    for record in records:
        assert json.loads(record.value)["traceparent"].split("-")[1] == trace_id


async def test_a_burst_of_enrolments_publishes_every_event_exactly_once(stack: Stack, unique: str):
    await _burst(stack, staff_no_of(unique))


async def test_writes_wake_the_relay_so_nothing_waits_for_the_poll(infra):
    # An hour between polls: every event of the burst must go out through wake-ups alone.
    stack = await build_stack(infra, settings={"members": {"outbox_poll_ms": 3_600_000}})
    try:
        await wait_until(lambda: _relay_connected(stack), 30, "the relay to connect")
        await _burst(stack, "B")
    finally:
        await close_stack(stack)


async def _relay_connected(stack: Stack) -> bool:
    return stack.members.relay.producer is not None


async def _burst(stack: Stack, prefix: str) -> None:
    async def enrol(i: int) -> str:
        response = await stack.members_http.post(
            "/members",
            json={
                "staff_no": f"{prefix}{i:04d}",
                "name": f"老师{i}",
                "campus": "main",
                "department": "艺术系",
            },
            headers=stack.cadre_headers(),
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    member_ids = await asyncio.gather(*(enrol(i) for i in range(60)))
    topic = stack.topic("members.member")

    async def all_published() -> bool:
        return await stack.members.relay.backlog() == 0

    await wait_until(all_published, 30, "the relay to publish every event")
    await wait_caught_up(stack.bootstrap, stack.notify.settings.consumer_group, topic, 60)
    # The burst's own records (keyed by member): the topic may hold other tests' too.
    records = await read_all(stack.bootstrap, topic)
    events = [json.loads(r.value) for r in records if r.key and r.key.decode() in member_ids]
    joined = [e for e in events if e["type"] == "members.member.joined.v2"]
    assert sorted(e["subject"] for e in joined) == sorted(member_ids)  # none lost
    assert len({e["id"] for e in events}) == len(events) == 2 * len(member_ids)  # none twice
    inbox = stack.notify.db["inbox"]
    assert await inbox.count_documents({"member_id": {"$in": member_ids}}) == 60

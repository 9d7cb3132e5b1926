"""The one declared list of Kafka topics. Start-up creates them; nothing auto-creates."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    TopicAlreadyExistsError,
    for_code,
)

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int = 3
    retention_days: int = 30
    description: str = ""
    compacted: bool = False  # keep the latest record per key (and drop a key on a tombstone)

    @property
    def dlq(self) -> Topic:
        return Topic(f"{self.name}.dlq", 1, 90, f"dead letters of {self.name}")


# One topic per aggregate; the key is the aggregate id so its events stay in order.
TOPICS: tuple[Topic, ...] = (
    Topic("members.member", description="会员: applied, joined, updated, transferred, withdrawn …"),
    Topic("members.campus", description="校区: its name, departments and small groups"),
    Topic(
        "members.contact",
        description="会员联系方式: the latest per member, a tombstone when they leave; notify only",
        compacted=True,
    ),
    Topic(
        "members.childcare",
        description="入园入托统计: collection rounds opened and closed (never a child's data)",
    ),
    Topic(
        "members.account",
        description="会员账号: password set or changed, signed in, locked, unlocked, login link",
    ),
    Topic(
        "members.dues",
        description="会费: payments and reversals recorded (member id and amount only)",
    ),
    Topic("events.activity", description="活动: drafted, published, changed, cancelled, completed"),
    Topic(
        "events.registration",
        description="活动报名: confirmed, waitlisted, promoted, cancelled, checked in (key: activity)",
    ),
    Topic("events.attendance", description="活动出勤: attendance recorded (献血 → welfare)"),
    Topic("events.plan", description="年度工作计划: created, item added, changed, status changed"),
    Topic(
        "events.sports",
        description="趣味运动会: items set up, results recorded, results published",
    ),
    # -- voice: commendations and the staff congress (issue 16) --
    Topic("events.campaign", description="评选表彰: set up, phase changed, result published"),
    Topic("events.nomination", description="评选推荐: nominated, shortlisted or rejected"),
    Topic("events.objection", description="公示异议: raised, resolved"),
    Topic("events.congress", description="教代会: session set up or changed"),
    Topic("events.proposal", description="教代会提案: every step from draft to rating"),
    Topic("events.resolution", description="教代会决议: opened, decided (counts only)"),
    # -- members' voice (surveys, suggestions) --
    Topic("events.survey", description="问卷: drafted, published, opened, closing soon, closed"),
    Topic("events.suggestion", description="意见建议: submitted, forwarded, replied"),
    Topic("welfare.entitlement", description="福利领取: created, chosen, confirmed, voided"),
    # funds-plans (issue 14): festival distribution plans
    Topic("welfare.plan", description="福利发放方案: created, approved, published, closed"),
    Topic(
        "welfare.ledger",
        description="经费台账: every entry (budget, income, payment, reversal) with its hash",
        retention_days=365,
    ),
    Topic("welfare.budget", description="经费预算: a line passed its warning threshold"),
    # welfare-care: condolences, visits, the hardship register, birthdays (member ids only)
    Topic("welfare.case", description="慰问事项: raised, approved, declined, paid, cancelled"),
    Topic("welfare.visit", description="慰问走访: a visit recorded (never its notes)"),
    Topic("welfare.hardship", description="困难职工档案: opened, help added, reviewed, closed"),
    Topic(
        "welfare.birthday",
        description="生日福利: offered (notify tells the member), chosen, posted (补记入账)",
    ),
    # welfare-exams: the annual physical exam and mutual-aid insurance
    Topic("welfare.exam_plan", description="体检方案: set up or revised, booking reminder asked"),
    Topic("welfare.exam", description="体检预约: booked, moved, cancelled, completed"),
    Topic("welfare.mutual_aid_scheme", description="互助保障险种: set up or revised"),
    Topic("welfare.mutual_aid", description="互助保障参保: members enrolled"),
    Topic("welfare.mutual_aid_claim", description="互助保障理赔: submitted, moved on"),
    Topic("notify.message", description="通知: delivered, failed"),
    Topic(
        "notify.webhook",
        description="Webhook 订阅: subscribed, paused, resumed, secret rotated (never the secret)",
    ),
)


def all_topics() -> list[Topic]:
    """Every topic with its dead-letter topic."""
    return [t for topic in TOPICS for t in (topic, topic.dlq)]


async def partitions_of(bootstrap: str, topic: str) -> list[TopicPartition]:
    """The partitions a topic has on the broker (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        if described["error_code"]:
            return []
        return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])
    finally:
        await admin.close()


def min_insync_replicas(replication: int) -> int:
    """`min.insync.replicas` for a topic with `replication` replicas: a majority from 3 up.

    With `acks=all` (shared/kafka.py) the leader acknowledges a write once this many replicas
    have it. A majority (2 of 3, 3 of 5) means an acknowledged event survives the loss of any
    one broker (two of five) while that many brokers may be down without writes being refused.
    Below three replicas it stays 1: with two, requiring both would refuse every write while
    either broker is down.
    """
    return replication // 2 + 1 if replication >= 3 else 1


async def _admin(bootstrap: str, timeout_s: float) -> AIOKafkaAdminClient:
    """A started admin client; retries while no broker answers yet (start-up races)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
        try:
            await admin.start()
            return admin
        except KafkaConnectionError:
            await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


def _cleanup(topic: Topic) -> dict[str, str]:
    if topic.compacted:
        return {"cleanup.policy": "compact"}
    return {"retention.ms": str(topic.retention_days * DAY_MS)}


async def ensure_topics(
    bootstrap: str,
    prefix: str = "",
    timeout_s: float = 60,
    replication: int = 1,
    *,
    min_insync: int | None = None,
) -> list[str]:
    """Create every declared topic (with prefix) that does not exist yet; returns those created.

    New topics get `replication` replicas and `min.insync.replicas` = `min_insync`, by default
    `min_insync_replicas(replication)` (2 for 3 replicas). Existing topics are left as they
    are (`replication_of` tells what they have). Raises the broker's error when it refuses a
    topic, e.g. more replicas than brokers: a service must not start believing its events
    have somewhere to go.
    """
    min_insync = min_insync_replicas(replication) if min_insync is None else min_insync
    if not 1 <= min_insync <= replication:
        raise ValueError(f"min.insync.replicas {min_insync} must be 1..{replication}")
    configs = {}
    if min_insync > 1:  # 1 is Kafka's default: topics on one broker stay as they were
        configs["min.insync.replicas"] = str(min_insync)
    admin = await _admin(bootstrap, timeout_s)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                f"{prefix}{t.name}",
                num_partitions=t.partitions,
                replication_factor=replication,
                topic_configs={**_cleanup(t), **configs},
            )
            for t in all_topics()
            if f"{prefix}{t.name}" not in existing
        ]
        there: set[str] = set()
        if wanted:
            response = await admin.create_topics(wanted)
            # aiokafka hands back the per-topic errors instead of raising them.
            for name, code, *message in response.topic_errors:
                if code and for_code(code) is TopicAlreadyExistsError:
                    # Another process won the race, or the broker asked first had not heard
                    # of the topic yet: it exists, as it was made, and was not created here.
                    there.add(name)
                elif code:
                    detail = message[0] if message and message[0] else ""
                    raise for_code(code)(f"creating topic {name}: {detail}".rstrip(": "))
            await _led(admin, [t.name for t in wanted], timeout_s)
        return [t.name for t in wanted if t.name not in there]
    finally:
        await admin.close()


async def _led(admin: AIOKafkaAdminClient, names: list[str], timeout_s: float) -> None:
    """Until every partition of `names` has a leader: a broker busy creating or deleting
    many topics answers a create before the partitions can take writes, and the first
    producer would meet `NotLeaderForPartition`."""
    deadline = time.monotonic() + timeout_s
    waiting = list(names)
    while waiting:
        described = await admin.describe_topics(waiting)
        waiting = [
            d["topic"]
            for d in described
            if d["error_code"]
            or not d["partitions"]
            or any(p["leader"] < 0 for p in d["partitions"])
        ]
        if waiting and time.monotonic() > deadline:
            raise KafkaTimeoutError(f"topics without leaders after {timeout_s:.0f}s: {waiting[:5]}")
        if waiting:
            await asyncio.sleep(0.1)


async def delete_topics(bootstrap: str, prefix: str, timeout_s: float = 30) -> list[str]:
    """Delete every topic named `prefix…` (an isolated test or bench run's topics); returns
    those deleted. A broker keeps files open per partition: a test session that never
    deletes its topic sets runs out of open files."""
    if not prefix:
        raise ValueError("delete_topics needs a prefix: it never deletes the platform's topics")
    admin = await _admin(bootstrap, timeout_s)
    try:
        names = [n for n in await admin.list_topics() if n.startswith(prefix)]
        if names:
            await admin.delete_topics(names, timeout_ms=int(timeout_s * 1000))
        return names
    finally:
        await admin.close()


@dataclass(frozen=True)
class Replication:
    """How a topic on the broker is replicated: the fewest replicas of any of its partitions
    and its effective `min.insync.replicas`."""

    replicas: int
    min_insync: int


async def replication_of(
    bootstrap: str, prefix: str = "", timeout_s: float = 10, *, all_exist: bool = False
) -> dict[str, Replication]:
    """Replication of the declared topics (with prefix) that exist, by declared name.

    A broker that has not heard of a topic yet neither lists it nor answers for it (in a
    cluster busy creating many topics, for seconds): those are asked again, up to
    `timeout_s`, so that a topic with too few replicas is not missed. `all_exist` (after
    `ensure_topics`) asks about every declared topic, listed by the broker asked or not."""
    admin = await _admin(bootstrap, 10)
    try:
        names = {f"{prefix}{t.name}": t.name for t in all_topics()}
        listed = set(await admin.list_topics())
        present = [n for n in names if all_exist or n in listed]
        replicas: dict[str, int] = {}
        min_insync: dict[str, int] = {}
        deadline = time.monotonic() + timeout_s
        while True:
            unknown = [n for n in present if n not in replicas or n not in min_insync]
            if not unknown or time.monotonic() > deadline:
                break
            for d in await admin.describe_topics(unknown):
                if not d["error_code"] and d["partitions"]:
                    replicas[d["topic"]] = min(len(p["replicas"]) for p in d["partitions"])
            resources = [
                ConfigResource(ConfigResourceType.TOPIC, n, {"min.insync.replicas": None})
                for n in unknown
            ]
            for response in await admin.describe_configs(resources):
                for code, _message, _type, name, entries, *_ in response.resources:
                    if code:  # a broker that has not heard of the topic yet: no answer
                        continue
                    for entry in entries:
                        if entry[0] == "min.insync.replicas":
                            min_insync[name] = int(entry[1])
            if any(n not in replicas or n not in min_insync for n in unknown):
                await asyncio.sleep(0.2)
        return {
            names[n]: Replication(replicas[n], min_insync[n])
            for n in present
            if n in replicas and n in min_insync
        }
    finally:
        await admin.close()

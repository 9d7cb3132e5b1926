"""Dead letters: list what is on a `<topic>.dlq` and replay it onto its original topic.

Replay progress is the committed offset of one consumer group per dead-letter topic, so a
replayed message is not replayed again by the next run, and nothing is removed from the
dead-letter topic itself (it stays as the record of what failed). Consumers are idempotent,
so replaying to the original topic only re-runs the handlers that did not finish.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.topics import partitions_of

REPLAY_GROUP = "gonghui-dlq-replay"

# What every dead letter carries in its Kafka headers (documented in the AsyncAPI catalog).
DEAD_LETTER_HEADERS: dict[str, str] = {
    "x-original-topic": "topic the record was consumed from",
    "x-original-partition": "its partition",
    "x-original-offset": "its offset",
    "x-consumer-group": "consumer group whose handler gave up",
    "x-handler": "handler that failed (or `envelope` when the record is not a CloudEvent)",
    "x-attempts": "how many times the handler was tried",
    "x-error-type": "exception class, e.g. `PoisonMessage`, `ConnectionRefusedError`",
    "x-error": "error text (at most 2000 characters)",
    "x-failed-at": "when it was dead-lettered (ISO 8601, UTC)",
}


def dead_letter_headers(
    record: ConsumerRecord, group: str, handler: str, exc: BaseException, attempts: int
) -> list[tuple[str, bytes]]:
    values = {
        "x-original-topic": record.topic,
        "x-original-partition": str(record.partition),
        "x-original-offset": str(record.offset),
        "x-consumer-group": group,
        "x-handler": handler,
        "x-attempts": str(attempts),
        "x-error-type": type(exc).__name__,
        "x-error": str(exc)[:2000],
        "x-failed-at": datetime.now(UTC).isoformat(),
    }
    return [(name, value.encode()) for name, value in values.items()]


@dataclass
class DeadLetter:
    partition: int
    offset: int
    key: str | None
    headers: dict[str, str]
    value: bytes
    replayed: bool

    @property
    def original_topic(self) -> str:
        return self.headers["x-original-topic"]


async def _end_offsets(
    bootstrap: str, consumer: AIOKafkaConsumer, topic: str
) -> dict[TopicPartition, int]:
    tps = await partitions_of(bootstrap, topic)
    return await consumer.end_offsets(tps) if tps else {}


async def list_dead_letters(
    bootstrap: str, dlq_topic: str, group: str = REPLAY_GROUP
) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        ends = await _end_offsets(bootstrap, consumer, dlq_topic)
        letters: list[DeadLetter] = []
        for tp, end in ends.items():
            committed = await consumer.committed(tp) or 0
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while await consumer.position(tp) < end:
                for record in (await consumer.getmany(tp, timeout_ms=1000)).get(tp, []):
                    if record.offset >= end:
                        break
                    letters.append(
                        DeadLetter(
                            partition=tp.partition,
                            offset=record.offset,
                            key=record.key.decode() if record.key else None,
                            headers={k: v.decode() for k, v in record.headers},
                            value=record.value,
                            replayed=record.offset < committed,
                        )
                    )
        return letters
    finally:
        await consumer.stop()


async def replay(bootstrap: str, dlq_topic: str, group: str = REPLAY_GROUP) -> int:
    """Republish every not-yet-replayed dead letter to its original topic; returns the count."""
    pending = [d for d in await list_dead_letters(bootstrap, dlq_topic, group) if not d.replayed]
    if not pending:
        return 0
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await producer.start()
    await consumer.start()
    try:
        done: dict[TopicPartition, int] = {}
        for letter in pending:
            headers = [
                ("x-replayed-from", f"{dlq_topic}:{letter.partition}@{letter.offset}".encode())
            ]
            await producer.send_and_wait(
                letter.original_topic,
                letter.value,
                key=letter.key.encode() if letter.key else None,
                headers=headers,
            )
            done[TopicPartition(dlq_topic, letter.partition)] = letter.offset + 1
        # Progress is committed only after the republished records were acknowledged.
        consumer.assign(list(done))
        await consumer.commit(done)
        return len(pending)
    finally:
        await consumer.stop()
        await producer.stop()

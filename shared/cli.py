"""The platform's part of the `gonghui` command line: development tokens, keys, topics and
dead letters. The command itself, with each service's own subcommands (`import members`),
is composed above the services in deploy/cli.py: shared imports no service.

gonghui token --role admin --campus '*'
gonghui token --role member --subject m-1234 --campus main
gonghui keygen --out /secure/keys
gonghui topics [--prefix P]      # GONGHUI_KAFKA_REPLICATION_FACTOR=3 on a cluster
gonghui dlq list members.member
gonghui dlq replay members.member
gonghui import members 新教师.xlsx [--commit] [--only-valid] [--active]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shared.keys import signing_key_for_cli
from shared.settings import ServiceSettings


def _token(args: argparse.Namespace) -> int:
    from shared.auth import mint_token

    subject = args.subject or f"dev-{args.role[0]}"
    token = mint_token(subject, args.role, args.campus, args.ttl, private_key_file=Path(args.key))
    print(token)
    return 0


def _keygen(args: argparse.Namespace) -> int:
    from shared.keys import ensure_keys

    for variable, path in ensure_keys(Path(args.out)).items():
        print(f"{variable}={path}")
    return 0


def _topics(args: argparse.Namespace) -> int:
    from aiokafka.errors import KafkaError

    from shared.topics import ensure_topics, min_insync_replicas, replication_of

    settings = ServiceSettings()
    prefix = args.prefix or settings.topic_prefix
    replication = settings.kafka_replication_factor
    min_insync = min_insync_replicas(replication)

    async def run() -> tuple[list[str], dict]:
        created = await ensure_topics(settings.kafka_bootstrap, prefix, replication=replication)
        return created, await replication_of(settings.kafka_bootstrap, prefix, all_exist=True)

    try:
        created, present = asyncio.run(run())
    except KafkaError as exc:
        print(
            f"创建主题失败 / creating topics failed on {settings.kafka_bootstrap}: {exc}\n"
            f"GONGHUI_KAFKA_REPLICATION_FACTOR={replication}: a cluster needs at least that "
            "many brokers.",
            file=sys.stderr,
        )
        return 1
    print(
        "created: "
        + (", ".join(created) if created else "none (all exist)")
        + f"  (replication factor {replication}, min.insync.replicas {min_insync})"
    )
    # Topics created earlier (by hand, or by a version that ignored the variable) are not
    # changed here; say so, or the cluster silently keeps single copies of the events.
    for name, r in sorted(present.items()):
        if f"{prefix}{name}" not in created and (
            r.replicas < replication or r.min_insync < min_insync
        ):
            print(
                f"警告：主题 {name} 只有 {r.replicas} 个副本、min.insync.replicas={r.min_insync}，"
                f"低于配置（{replication} / {min_insync}）。\n"
                f"warning: topic {name} has {r.replicas} replica(s) and min.insync.replicas "
                f"{r.min_insync}, less than configured ({replication} / {min_insync}); existing "
                "topics are not changed: add replicas with kafka-reassign-partitions.sh and set "
                "the config with kafka-configs.sh.",
                file=sys.stderr,
            )
    return 0


def _dlq(args: argparse.Namespace) -> int:
    from shared.dlq import list_dead_letters, replay

    settings = ServiceSettings()
    topic = settings.topic(args.topic)
    dlq = topic if topic.endswith(".dlq") else f"{topic}.dlq"
    if args.action == "replay":
        count = asyncio.run(replay(settings.kafka_bootstrap, dlq))
        print(f"已重放 {count} 条死信 replayed {count} dead letter(s) from {dlq}")
        return 0
    letters = asyncio.run(list_dead_letters(settings.kafka_bootstrap, dlq))
    for d in letters:
        state = "replayed" if d.replayed else "pending"
        print(
            json.dumps(
                {"partition": d.partition, "offset": d.offset, "state": state, **d.headers},
                ensure_ascii=False,
            )
        )
    print(f"{len(letters)} dead letter(s) on {dlq}", file=sys.stderr)
    return 0


Subcommands = Callable[[Any], None]  # adds its parsers to the `gonghui` subparsers


def main(argv: list[str] | None = None, more: Sequence[Subcommands] = ()) -> int:
    """Run the command with the platform's subcommands and `more` (the services')."""
    parser = argparse.ArgumentParser(prog="gonghui", description="Gonghui 工会 command line")
    sub = parser.add_subparsers(dest="command", required=True)

    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("--role", action="append", required=True, help="role (repeatable)")
    token.add_argument("--campus", action="append", required=True, help="campus, or '*' for all")
    token.add_argument("--subject", help="subject (member id for a member token)")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    token.add_argument(
        "--key",
        default=str(signing_key_for_cli()),
        help="Ed25519 private key PEM (default: $GONGHUI_AUTH_PRIVATE_KEY_FILE, else the one "
        "`make run` made in var/keys, else the development key)",
    )
    token.set_defaults(func=_token)

    keygen = sub.add_parser(
        "keygen",
        help="make the platform's own keys (signing pair, data key, calendar secret) where "
        "missing; prints the GONGHUI_*_FILE variables to set",
    )
    keygen.add_argument("--out", required=True, help="the key directory (kept private, 0700)")
    keygen.set_defaults(func=_keygen)

    topics = sub.add_parser(
        "topics",
        help="create the declared topics that are missing "
        "(replicas: $GONGHUI_KAFKA_REPLICATION_FACTOR)",
    )
    topics.add_argument("--prefix", default="")
    topics.set_defaults(func=_topics)

    dlq = sub.add_parser("dlq", help="list or replay dead letters")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("topic", help="the topic, e.g. members.member (its .dlq is used)")
    dlq.set_defaults(func=_dlq)

    for add_parsers in more:
        add_parsers(sub)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())

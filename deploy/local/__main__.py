"""Local launcher for the embedded default (no Docker needed).

    python -m deploy.local run       # everything: infrastructure, the four services, demo data
    python -m deploy.local infra     # only Kafka, PostgreSQL, FerretDB and the SMTP catcher
    python -m deploy.local prepare   # only fetch Kafka, build FerretDB, install PostgreSQL

`make run` is the first one. It runs in the foreground; Ctrl-C or SIGTERM stops every process
it started (services first, then the infrastructure). Data lives in var/ and survives a
restart; delete var/ for a clean start. A second launch while one runs says so and exits.

The services get GONGHUI_KAFKA_BOOTSTRAP, GONGHUI_MONGO_URL, GONGHUI_SMTP_HOST and
GONGHUI_SMTP_PORT from the launcher; every other GONGHUI_* variable you set (for example
GONGHUI_LOG_LEVEL) passes through to them.

Environment variables of the launcher:

    GONGHUI_LOCAL_VAR                    var/     data, logs/ and run.lock
    GONGHUI_LOCAL_CACHE                  .cache/  Kafka jars and the FerretDB binary
    GONGHUI_LOCAL_MONGO_BACKEND      postgresql   FerretDB's storage: postgresql or sqlite
    GONGHUI_LOCAL_KAFKA_PORT             9092     Kafka bootstrap listener
    GONGHUI_LOCAL_KAFKA_CONTROLLER_PORT  9093     Kafka KRaft controller listener
    GONGHUI_LOCAL_MONGO_PORT             27017    FerretDB (MongoDB wire protocol)
    GONGHUI_LOCAL_POSTGRES_PORT          5433     PostgreSQL under FerretDB (127.0.0.1 only)
    GONGHUI_LOCAL_SMTP_PORT              1025     SMTP catcher (mail lands in var/mail)
    GONGHUI_LOCAL_MEMBERS_PORT           8001     members HTTP
    GONGHUI_LOCAL_EVENTS_PORT            8002     events HTTP
    GONGHUI_LOCAL_WELFARE_PORT           8003     welfare HTTP
    GONGHUI_LOCAL_NOTIFY_PORT            8004     notify HTTP
    GONGHUI_LOCAL_KAFKA_HEAP             512m     Kafka JVM heap
    GONGHUI_LOCAL_READY_TIMEOUT_S        90       seconds a process may take to become ready
    GONGHUI_LOCAL_DEMO                   1        0 skips enrolling the demo members
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["run", "infra", "prepare"])
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from deploy.local.prepare import main as prepare_main

        return prepare_main()
    from deploy.local.launcher import main as launch

    return launch(with_services=args.command == "run")


if __name__ == "__main__":
    sys.exit(main())

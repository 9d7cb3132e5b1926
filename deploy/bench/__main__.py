"""`python -m deploy.bench` (also `make bench`): how fast Gonghui's paths go, next to the raw limits.

Starts the embedded infrastructure (Kafka in KRaft mode, FerretDB on PostgreSQL or, with
GONGHUI_LOCAL_MONGO_BACKEND=sqlite, on SQLite, SMTP catcher) in a temporary folder on free
ports, measures in one run on the same servers, prints one table (its `servers` line names the
storage it measured), and stops everything again (also on Ctrl-C or an error). The storage
backends side by side at 50,000 documents: `python -m deploy.bench.storage`.

Environment:
    GONGHUI_BENCH_N            members per service path, and ops per raw MongoDB figure (1000)
    GONGHUI_BENCH_KAFKA_N      messages for the raw Kafka figures (10 × N)
    GONGHUI_BENCH_CONCURRENCY  operations / requests in flight (16)
    GONGHUI_BENCH_TIMEOUT_S    longest wait for one stage (120)
    GONGHUI_BENCH_IMPORT_N     members in the bulk import's XLSX (5000)
    GONGHUI_BENCH_ONLY         run only these parts, comma-separated (raw, outbox, aggregate,
                               list, signup, votes, e2e, import, web, funds, plans, exam,
                               birthdays, notices); empty: all
    GONGHUI_BENCH_PLAN_N       eligible members of the festival plan published (50000)
    GONGHUI_BENCH_BIRTHDAY_N   members of the school whose month's birthdays are offered (50000)
    GONGHUI_BENCH_NOTICE_N     members a notice (通知公告) is posted to (50000)
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import platform
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

# The bench builds the services in-process on throw-away data and signs its tokens with the
# checked-in development keys: a test run, which is the only place those keys start.
os.environ.setdefault("GONGHUI_ENV", "test")

from deploy.bench.events import sign_up_burst
from deploy.bench.funds import funds_paths
from deploy.bench.imports import import_paths
from deploy.bench.measure import Target, raw_kafka, raw_mongo
from deploy.bench.members import member_list_paths
from deploy.bench.notices import notice_paths  # notify-notices
from deploy.bench.paths import end_to_end, outbox_paths, withdraw_paths
from deploy.bench.plans import plan_paths  # funds-plans
from deploy.bench.report import Report, format_table, human_bytes
from deploy.bench.voice import vote_burst
from deploy.bench.web import web_paths
from deploy.bench.welfare_care import birthday_run
from deploy.bench.welfare_exams import exam_booking_burst  # welfare-exams
from deploy.local.infra import InfraError, LocalInfra, Ports, PrerequisiteError, prepare
from deploy.local.postgres import CLIENT_MAX_POOL_SIZE, BackendError, mongo_backend
from deploy.local.prepare import FERRETDB_VERSION


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise SystemExit(f"{name}={raw!r}: expected a whole number ≥ {minimum}")
    return value


def kafka_version(libs: Path) -> str:
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    return jars[0].stem.removeprefix("kafka_2.13-") if jars else "?"


LEGEND = [
    "raw rows: the bare clients, with the producer and MongoDB settings the services use;",
    "  produce = sends in flight together, then all acknowledgements awaited (acks=all, idempotent);",
    "  consume = one consumer reading those records back from the start (no handler work);",
    "  update = update_one({taken < capacity}, $inc) on ONE document, like an activity's seats.",
    "service rows, ratio = service rate ÷ raw rate (1.00× would mean no cost on top of the client):",
    "  outbox.write   = Outbox.insert: a pending marker, then the document with its event;",
    "  outbox.publish = from the first write until every event is on Kafka, with 50,000 published",
    "                   documents already in the collection (the relay reads only what it wrote);",
    "  aggregate.*    = a member's withdrawal: by-id read, rule, insert of the next version;",
    "                   contended = 20 at once on one member, exactly one wins (checked);",
    "  http.create    = POST /members through the whole FastAPI app (auth, validation, problems);",
    "  e2e            = first POST until notify's inbox holds N welcome messages (consumer:",
    "                   idempotency check, inbox insert, processed marker; no e-mail address given);",
    "  e2e.steady     = the same paced at 100 requests/s; latency = request start → inbox insert;",
    "  signup.http    = POST /activities/{id}/registrations: 2,000 distinct members at once for",
    "                   300 seats (token, eligibility, a seat or waitlist place by unique insert,",
    "                   the registration's change and event); overbooked must be 0 (checked);",
    "  votes.http     = POST /commendations/{id}/categories/c1/votes: 2,000 voters, one ballot of",
    "                   3 each (a slot of K under an HMAC token + a ballot without the voter per",
    "                   vote, unique inserts); tally = votes cast and ≤ K per voter (checked);",
    "  list.*         = GET /members over HTTP, 50,000 members in the list view, pages of 50 with",
    "                   the total (two queries: the page and the count).",
    "  import.*       = POST /imports of an XLSX of new staff, polled until the report (as the CLI",
    "                   does): check = dry run; commit = check every row, then write each member",
    "                   with its events (all or nothing); import = both, as a cadre does it.",
    "  funds.post     = POST …/payments of welfare, all on one campus's ledger: each payment is",
    "                   the ledger's next number, decided on the one before (unique insert);",
    "  funds.check    = the auditor's ledger check over 100,000 entries (hashes, balances, gaps);",
    "  plans.publish  = a festival plan published to GONGHUI_BENCH_PLAN_N members over HTTP:",
    "                   caps claimed, entitlements written, every event acknowledged by Kafka;",
    "                   next to mongo.bulk_insert (insert_many) and kafka.produce_bulk of the run;",
    "  exam.booking   = POST /exams/plans/…/bookings: 2,000 members at once for 200 places (20",
    "                   slots of 10; a member told full tries another slot, up to 5 times), next",
    "                   to exam.raw_insert, unique inserts of the same run; overbooked must be 0;",
    "  birthday.run   = the monthly birthday job's use case (offer_month) over GONGHUI_BENCH_BIRTHDAY_N",
    "                   members (a twelfth born in the month) until every offer is on Kafka, next to",
    "                   birthday.raw_insert (unique inserts of as many documents); paid one ledger entry",
    "                   per campus batch (their sum the benefits' money, checked); run again: 0 offered;",
    "  notice.fanout  = POST /announcements (a mandatory notice) to GONGHUI_BENCH_NOTICE_N members",
    "                   until the fan-out marks it sent: recipients/s, two unique-id documents",
    "                   each, next to notice.raw_bulk (insert_many of as many documents);",
    "  web.*          = the web front end's page (session, its API calls, the template) next to",
    "                   the page's main API call made directly, both in-process: p50/p99 and ratio.",
    "Everything runs in this one Python process (one event loop) next to the servers, on the same",
    "machine: figures are for comparing with each other, not capacity promises.",
]


async def run(target: Target, infra: LocalInfra, report: Report) -> None:
    storage = "PostgreSQL, " if infra.postgres else ""
    say(f"starting Kafka, {storage}FerretDB and the SMTP catcher in {infra.root} …")
    t0 = time.perf_counter()
    await infra.start(timeout_s=target.timeout_s, topic_prefix=None, say=say)
    report.facts.append(("infrastructure start", f"{time.perf_counter() - t0:.1f} s"))
    only = {p.strip() for p in os.environ.get("GONGHUI_BENCH_ONLY", "").split(",") if p.strip()}

    def wanted(part: str) -> bool:
        return not only or part in only

    if wanted("raw"):
        say(f"raw Kafka: {target.kafka_n:,} messages …")
        produce, consume = await raw_kafka(target)
        report.add(produce)
        report.add(consume)
        say(f"raw MongoDB: {target.n:,} operations each …")
        warnings: list[str] = []
        for m in await raw_mongo(target, warnings):
            report.add(m)
        for warning in warnings:
            say(f"warning: {warning}")
            report.facts.append(("warning", warning))
    if wanted("outbox"):
        say(f"outbox: {target.n:,} writes next to 50,000 stored documents …")
        for m in await outbox_paths(target):
            report.add(m)
    if wanted("aggregate"):
        say(f"aggregate changes: {target.n:,} withdrawals, then bursts of 20 on one member …")
        for m in await withdraw_paths(target):
            report.add(m)
    if wanted("list"):
        say("member list: pages of 50 out of 50,000 members …")
        for m in await member_list_paths(target):
            report.add(m)
    if wanted("signup"):
        say("sign-up burst: 2,000 members at once for 300 seats over HTTP …")
        for m in await sign_up_burst(target):
            report.add(m)
    if wanted("votes"):
        say("vote burst: 2,000 voters × 3 votes in one category over HTTP …")
        for m in await vote_burst(target):
            report.add(m)
    if wanted("e2e"):
        say(f"end to end: {target.n:,} members over HTTP until notify's inbox, then 100/s …")
        measurements, _ = await end_to_end(target)
        for m in measurements:
            report.add(m)
    if wanted("import"):
        say(f"bulk import: {target.import_n:,} members from one XLSX, dry run then commit …")
        for m in await import_paths(target, target.import_n):
            report.add(m)
    if wanted("funds"):
        say(f"funds: {target.n:,} payments on one ledger, then the check of 100,000 entries …")
        for m in await funds_paths(target):
            report.add(m)
    if wanted("plans"):  # funds-plans
        plan_n = env_int("GONGHUI_BENCH_PLAN_N", 50_000)
        say(f"festival plan: published to {plan_n:,} members, until every event is on Kafka …")
        for m in await plan_paths(target, plan_n):
            report.add(m)
    if wanted("exam"):  # welfare-exams
        say("exam booking burst: 2,000 members at once for 200 places over HTTP …")
        for m in await exam_booking_burst(target):
            report.add(m)
    if wanted("birthdays"):  # welfare-care
        say("birthday run: the month's members of a school, until every offer is on Kafka …")
        for m in await birthday_run(target):
            report.add(m)
    if wanted("notices"):  # notify-notices
        notice_n = env_int("GONGHUI_BENCH_NOTICE_N", 50_000)
        say(f"notice: to {notice_n:,} members, until every inbox holds it …")
        for m in await notice_paths(target, notice_n):
            report.add(m)
    if wanted("web"):
        say("web front end: activities page and members table (50 of 50,000) vs the API …")
        for m in await web_paths(target):
            report.add(m)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    n = env_int("GONGHUI_BENCH_N", 1000)
    kafka_n = env_int("GONGHUI_BENCH_KAFKA_N", 10 * n)
    concurrency = env_int("GONGHUI_BENCH_CONCURRENCY", 16)
    timeout_s = float(env_int("GONGHUI_BENCH_TIMEOUT_S", 120))
    import_n = env_int("GONGHUI_BENCH_IMPORT_N", 5000)
    try:
        backend = mongo_backend()
        # Fetches / builds / installs once; a no-op when everything is there.
        paths = prepare(say=say, backend=backend)
    except (PrerequisiteError, BackendError) as exc:
        say(str(exc))
        return 2

    root = Path(tempfile.mkdtemp(prefix="gonghui-bench-"))
    root.chmod(0o711)  # PostgreSQL runs as the postgres user when we are root
    infra = LocalInfra(root, paths, Ports.free(), backend=backend)
    atexit.register(infra.kill)  # last resort if the code below never gets to stop them
    target = Target(
        kafka_bootstrap=infra.kafka_bootstrap,
        mongo_url=infra.mongo_url,
        smtp_host=infra.smtp_host,
        smtp_port=infra.smtp_port,
        n=n,
        kafka_n=kafka_n,
        concurrency=concurrency,
        timeout_s=timeout_s,
        run_id=uuid.uuid4().hex[:8],
        import_n=import_n,
    )
    # `kill <pid>` stops the bench the way Ctrl-C does: through the finally blocks below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    report = Report(legend=LEGEND)
    pg = infra.postgres
    storage = (
        f"on PostgreSQL {pg.version} (pool_max_conns={pg.pool_max_conns}, clients "
        f"maxPoolSize={CLIENT_MAX_POOL_SIZE}, GIN twins)"
        if pg
        else "on SQLite"
    )
    report.facts.append(
        (
            "servers",
            f"Apache Kafka {kafka_version(paths.kafka_libs)} (KRaft, one node), "
            f"FerretDB {FERRETDB_VERSION} {storage}, on {os.cpu_count()} CPU(s), "
            f"Python {platform.python_version()}",
        )
    )

    async def guarded() -> None:
        try:
            await run(target, infra, report)
        finally:
            say("stopping the infrastructure …")
            await infra.stop()

    keep_data = True  # for a failure: its logs are in there
    try:
        asyncio.run(guarded())
        keep_data = False
    except KeyboardInterrupt:
        keep_data = False
        say("interrupted; the infrastructure is stopped")
        return 130
    except (InfraError, TimeoutError, AssertionError) as exc:
        say(f"bench failed: {exc}")
        return 1
    except Exception:
        logging.exception("bench failed")
        return 1
    finally:
        infra.kill()  # no-op when stopped; covers an interrupt during the stop itself
        if keep_data:
            say(f"logs and data kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    report.facts.append(
        (
            "peak RSS",
            f"{human_bytes(own)} this process (clients + in-process services); "
            f"{human_bytes(children)} largest child process (the Kafka JVM)",
        )
    )
    report.facts.append(
        (
            "settings",
            f"N={target.n:,}, Kafka N={target.kafka_n:,}, import N={target.import_n:,}, "
            f"{target.concurrency} in flight",
        )
    )
    print(format_table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

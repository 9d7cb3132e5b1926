"""What every service process runs: Mongo, outbox, consumer, scheduled jobs, health, auth.

A service's `bootstrap.py` is its composition root: it builds a `ServiceRuntime` with its
settings, declares its aggregates (`runtime.aggregate(...)`, which also subscribes the view
projection), its subscriptions and jobs, puts its typed context on `runtime.context` (what
its `deps.py` hands to routes) and returns the runtime. Tests, the benchmark and the docs
generator build the same runtime with other settings instead of patching anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from fastapi import APIRouter, FastAPI, Request
from pymongo.asynchronous.database import AsyncDatabase

from shared.aggregate import Aggregate, AggregateStore
from shared.auth import TokenVerifier
from shared.consumer import EventConsumer
from shared.crypto import Sealer
from shared.events import load_all
from shared.kafka import new_producer
from shared.mongo import connect, database
from shared.observability import configure_logging, health_router, install_request_metrics
from shared.outbox.relay import OutboxRelay
from shared.outbox.writer import Outbox
from shared.problems import install_problem_handlers
from shared.routing import Routes
from shared.scheduler import Job, Scheduler
from shared.settings import ServiceSettings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

IndexSetup = Callable[[AsyncDatabase], Awaitable[None]]
A = TypeVar("A", bound=Aggregate)


class Worker(Protocol):
    """A service's own background work that is neither a handler nor a scheduled job (a bulk
    import): started with the service, stopped before the consumer and the relay stop."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


def provided(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A FastAPI dependency that gives one member of the service's context (`runtime.context`).

    Each area names what it uses in its own api module, e.g.
    `Accounts = Annotated[AccountService, Depends(provided("accounts"))]`, so a service's
    deps module imports none of its areas and no area's routes import back into a module
    that imports every area (a cycle the import contract refuses).
    """

    # `async def`: FastAPI would run a plain `def` in a worker thread, a hop per request.
    async def get(request: Request) -> Any:
        return getattr(request.app.state.runtime.context, name)

    get.__name__ = get.__qualname__ = f"get_{name}"
    return get


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        title: str,
        description: str,
        routers: Sequence[APIRouter],
        setup_indexes: IndexSetup | None = None,
        configure_logs: bool = True,
    ) -> None:
        self.settings = settings
        self.service = settings.service
        load_all()  # every contract known: tombstones, parsing, the catalog
        self.client = connect(settings)
        self.db = database(self.client, settings)
        self.relay = OutboxRelay(
            service=self.service,
            db=self.db,
            producer_factory=lambda: new_producer(settings),
            topic_name=settings.topic,
            poll_s=settings.outbox_poll_ms / 1000,
        )
        self.outbox = Outbox(self.db, self.service, self.relay)
        self.consumer = EventConsumer(
            service=self.service,
            db=self.db,
            bootstrap=settings.kafka_bootstrap,
            group_id=settings.consumer_group,
            topic_name=settings.topic,
            producer_factory=lambda: new_producer(settings),
            max_attempts=settings.handler_max_attempts,
            backoff_ms=settings.handler_retry_backoff_ms,
            retry_later_max_s=settings.handler_wait_max_s,
        )
        self.scheduler = Scheduler(self.service, self.db, tick_s=settings.job_tick_s)
        self.setup_indexes = setup_indexes
        self.workers: list[Worker] = []
        self.context: Any = None  # the service's typed context, for its deps.py
        if configure_logs:
            configure_logging(self.service, settings.log_level)
        self.app = self._build_app(title, description, routers)

    # -- what a composition root declares ------------------------------------------------------

    def aggregate(
        self,
        model: type[A],
        *,
        name: str,
        topic: str,
        not_found: tuple[str, str],
        sealer: Sealer | None = None,
    ) -> AggregateStore[A]:
        """A store for one aggregate type; its list view is kept by this service's consumer."""
        store = AggregateStore(
            self.db,
            self.outbox,
            model,
            name=name,
            topic=topic,
            not_found=not_found,
            sealer=sealer,
        )
        self.subscribe(store.view_routes())
        return store

    def subscribe(self, routes: Routes) -> None:
        """Route incoming events to handlers; call before the app starts."""
        self.consumer.subscribe(routes)

    def schedule(self, job: Job) -> None:
        """Run a job on its schedule, once per slot across this service's replicas."""
        self.scheduler.add(job)

    def run_worker(self, worker: Worker) -> None:
        """Start `worker` with the service and stop it first when the service stops."""
        self.workers.append(worker)

    # -- the app -------------------------------------------------------------------------------

    def _build_app(self, title: str, description: str, routers: Sequence[APIRouter]) -> FastAPI:
        app = FastAPI(title=title, description=description, version="0.1.0", lifespan=self.lifespan)
        app.state.runtime = self
        app.state.token_verifier = TokenVerifier(
            self.settings.auth_public_key_file, self.settings.auth_issuer
        )
        install_problem_handlers(app)
        install_request_metrics(app, self.service)
        app.include_router(
            health_router(
                self.service,
                ready={"mongodb": self.check_mongo},
                details={"kafka": self.kafka_detail, "outbox": self.outbox_detail},
            )
        )
        for router in routers:
            app.include_router(router)
        return app

    async def check_mongo(self) -> None:
        await asyncio.wait_for(self.db.command("ping"), 2)

    async def kafka_detail(self) -> str:
        producer = self.relay.producer
        if producer is None:
            return "not connected"
        await asyncio.wait_for(producer.client.fetch_all_metadata(), 2)
        return "ok" if self.consumer.connected else "consumer not connected"

    async def outbox_detail(self) -> dict[str, float]:
        return {
            "waiting": self.relay.pending_events(),
            "oldest_s": round(self.relay.oldest_pending_s(), 1),
        }

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        await self.consumer.ensure_indexes()
        if self.setup_indexes:
            await self.setup_indexes(self.db)
        # Topics normally exist (the launcher or compose init creates them); creating any
        # missing ones here makes a lone service start cleanly too. Kafka may be down: then
        # the relay and the consumer keep retrying in the background.
        try:
            await asyncio.wait_for(
                ensure_topics(
                    self.settings.kafka_bootstrap,
                    self.settings.topic_prefix,
                    5,
                    self.settings.kafka_replication_factor,
                ),
                8,
            )
        except Exception as exc:
            log.warning("could not check topics at start-up: %s", exc)
        self.relay.start()
        self.consumer.start()
        self.scheduler.start()
        for worker in self.workers:
            worker.start()
        log.info("%s started", self.service)

    async def stop(self, drop_database: bool = False) -> None:
        # Order matters: workers and jobs stop, finish handlers and commit offsets, then flush
        # the outbox (workers, handlers and jobs write events too).
        try:
            for worker in reversed(self.workers):
                await worker.stop()
            await self.scheduler.stop()
            await self.consumer.stop()
            await self.relay.stop()
            if drop_database:  # tests and benchmarks clean up after themselves
                await self.client.drop_database(self.db.name)
        finally:
            await self.client.close()
        log.info("%s stopped", self.service)

"""What every service process runs: Mongo, outbox relay, consumer, health, auth, problems.

A service's `bootstrap.py` is its composition root: it builds a `ServiceRuntime` with its
settings, its event routing table and the collections that carry an outbox, then asks it for
the FastAPI app. Tests build the same runtime with other settings (unique database and topic
prefix) instead of patching anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from pymongo.asynchronous.database import AsyncDatabase

from shared.auth import TokenVerifier
from shared.consumer import EventConsumer, Routes
from shared.kafka import new_producer
from shared.mongo import connect, database
from shared.observability import configure_logging, health_router, install_request_metrics
from shared.outbox import OutboxRelay
from shared.problems import install_problem_handlers
from shared.settings import ServiceSettings
from shared.topics import ensure_topics

log = logging.getLogger(__name__)

IndexSetup = Callable[[AsyncDatabase], Awaitable[None]]


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        title: str,
        description: str,
        routers: Sequence[APIRouter],
        outbox_collections: Sequence[str],
        setup_indexes: IndexSetup | None = None,
        configure_logs: bool = True,
    ) -> None:
        self.settings = settings
        self.service = settings.service
        self.client = connect(settings)
        self.db = database(self.client, settings)
        self.relay = OutboxRelay(
            service=self.service,
            db=self.db,
            collections=outbox_collections,
            producer_factory=lambda: new_producer(settings),
            topic_name=settings.topic,
            poll_s=settings.outbox_poll_ms / 1000,
        )
        self.consumer = EventConsumer(
            service=self.service,
            db=self.db,
            bootstrap=settings.kafka_bootstrap,
            group_id=settings.consumer_group,
            topic_name=settings.topic,
            producer_factory=lambda: new_producer(settings),
            max_attempts=settings.handler_max_attempts,
            backoff_ms=settings.handler_retry_backoff_ms,
        )
        self.setup_indexes = setup_indexes
        if configure_logs:
            configure_logging(self.service, settings.log_level)
        self.app = self._build_app(title, description, routers)

    def subscribe(self, routes: Routes) -> None:
        """Route incoming events to handlers; call before the app starts."""
        self.consumer.subscribe(routes)

    def _build_app(self, title: str, description: str, routers: Sequence[APIRouter]) -> FastAPI:
        app = FastAPI(
            title=title,
            description=description,
            version="0.1.0",
            lifespan=self.lifespan,
        )
        app.state.runtime = self
        app.state.token_verifier = TokenVerifier(
            self.settings.auth_public_key_file, self.settings.auth_issuer
        )
        install_problem_handlers(app)
        install_request_metrics(app, self.service)
        app.include_router(
            health_router(self.service, {"mongodb": self.check_mongo, "kafka": self.check_kafka})
        )
        for router in routers:
            app.include_router(router)
        return app

    async def check_mongo(self) -> None:
        await asyncio.wait_for(self.db.command("ping"), 2)

    async def check_kafka(self) -> None:
        producer = self.relay.producer
        if producer is None:
            raise ConnectionError("producer not connected")
        await asyncio.wait_for(producer.client.fetch_all_metadata(), 2)
        await self.consumer.check_kafka()

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
        log.info("%s started", self.service)

    async def stop(self, drop_database: bool = False) -> None:
        # Order matters: finish handlers and commit offsets, then flush the outbox.
        try:
            await self.consumer.stop()
            await self.relay.stop()
            if drop_database:  # tests and benchmarks clean up after themselves
                await self.client.drop_database(self.db.name)
        finally:
            await self.client.close()
        log.info("%s stopped", self.service)

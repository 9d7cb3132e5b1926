"""MongoDB access through PyMongo's asynchronous client (the successor of Motor)."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import ServiceSettings


def connect(settings: ServiceSettings) -> AsyncMongoClient:
    # tz_aware: datetimes come back as UTC-aware values, never naive local times.
    return AsyncMongoClient(
        settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000, appname=settings.service
    )


def database(client: AsyncMongoClient, settings: ServiceSettings) -> AsyncDatabase:
    return client[settings.mongo_db]

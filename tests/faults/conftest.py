"""Fixtures of the fault suite: a private redis-server per test, and the app on it.

``database`` runs every fault on both relational backends: the embedded
SQLite files and MariaDB (private databases of the session, as in
tests/conftest.py). Redis is always this suite's own server, never the shared
one, because the tests stop, black-hole and restart it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import AsyncIterator

import pytest
from quart.typing import TestClientProtocol

from origin.app import create_app
from origin.services import Services, open_services
from origin.settings import Settings
from origin.tables import metadata
from tests.conftest import MYSQL_URL, empty_all_tables
from tests.faults.harness import BlackHoleProxy, RedisServer


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def proxy(redis_server: RedisServer):
    forwarding = BlackHoleProxy(redis_server.port)
    await forwarding.start()
    try:
        yield forwarding
    finally:
        await forwarding.close()


@pytest.fixture(params=("sqlite", "mysql"))
def database(request) -> str:
    return request.param


@pytest.fixture
def base_settings(database: str, tmp_path: Path, request) -> Settings:
    settings = Settings(data_dir=tmp_path / "var", secret_key="test-secret-key-0123456789", internal_token="test-internal-token")
    if database == "mysql":
        settings = settings.replace(database_url=MYSQL_URL, database_schema_prefix=request.getfixturevalue("mysql_schema_prefix"))
    return settings


@contextlib.asynccontextmanager
async def serving(settings: Settings, *, with_analytics: bool = False) -> AsyncIterator[tuple[Services, TestClientProtocol]]:
    """Services on an empty schema and the public app serving (listeners running) on them."""
    async with open_services(settings, with_analytics=with_analytics) as services:
        if settings.uses_embedded_database:
            async with services.db.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            await empty_all_tables(services.db)
        application = create_app(settings, services=services)
        async with application.test_app() as test_app:
            yield services, test_app.test_client()

"""Test wiring: every data-layer test runs on the embedded stores and on the servers.

``backend`` is ``embedded`` (SQLite files in a temp dir, in-memory cache and
pub/sub) or ``servers`` (MariaDB on 127.0.0.1:3306 in private databases for this
test session, Redis on 127.0.0.1:6379 in its own db index, flushed per test).

A server that is down makes its tests skip with the reason, unless
ZELLY_REQUIRE_SERVICES=1 (set by .ci/run), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import AsyncIterator

import pytest
import sqlalchemy as sa

from origin import db
from origin.tables import metadata
from origin.services import Services, open_services
from origin.settings import Settings

MYSQL_URL = os.environ.get("ZELLY_TEST_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/")
REDIS_URL = os.environ.get("ZELLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
REQUIRE_SERVICES = os.environ.get("ZELLY_REQUIRE_SERVICES") == "1"
BACKENDS = ("embedded", "servers")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    if _port_open(host, port):
        return
    reason = f"{name} is not running on {host}:{port}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} and ZELLY_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mysql_schema_prefix() -> str:
    """Private MariaDB databases for this test session, tables created once."""
    require_server("MariaDB", "127.0.0.1", 3306)
    prefix = f"zt{os.getpid()}_{uuid.uuid4().hex[:6]}_"

    async def create() -> None:
        await db.create_mysql_databases(MYSQL_URL, prefix)
        engine = db.create_engine(MYSQL_URL, prefix)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()

    asyncio.run(create())
    yield prefix
    asyncio.run(db.drop_mysql_databases(MYSQL_URL, prefix))


async def empty_all_tables(engine) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
        await conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def _free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
async def smtp_server(settings: Settings, tmp_path: Path):
    """A real SMTP server (aiosmtpd, ops/mail_server.py) on the test's ZELLY_SMTP_PORT.

    ``await smtp_server.wait_for(n)`` returns the stored messages (ops.mail_server.StoredMail:
    ``.message`` is an email.message.EmailMessage, ``.envelope_to`` the RCPT TO addresses)
    once there are at least n; ``smtp_server.mailbox.messages()`` reads them without waiting.
    """
    from ops.mail_server import run_mail_server

    async with run_mail_server(tmp_path / "received-mail", host=settings.smtp_host, port=settings.smtp_port) as server:
        yield server


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend: str, tmp_path: Path, request) -> Settings:
    base = Settings(
        data_dir=tmp_path / "var", secret_key="test-secret-key-0123456789", internal_token="test-internal-token",
        # A private SMTP port per test: the `smtp_server` fixture listens there, and nothing
        # a test queues can reach a dev mail server (or anything else) on the default port.
        smtp_port=_free_loopback_port(), smtp_starttls="never", mail_from="orders@shops.example.com",
    )
    if backend == "embedded":
        return base
    prefix = request.getfixturevalue("mysql_schema_prefix")
    require_server("Redis", "127.0.0.1", 6379)
    return base.replace(database_url=MYSQL_URL, database_schema_prefix=prefix, redis_url=REDIS_URL)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    """Open services on an empty schema (and a flushed Redis db)."""
    async with open_services(settings, with_analytics=False) as opened:
        if settings.uses_embedded_database:
            async with opened.db.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            await empty_all_tables(opened.db)
        if opened.redis is not None:
            await opened.redis.flushdb()
        yield opened
        if opened.redis is not None:
            await opened.redis.flushdb()


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory) -> Path:
    """The one chDB data path of this test process.

    chDB allows one path per process, even after its clients close ("EmbeddedServer
    already initialized with path ..."), so every test that needs analytics uses this
    path, with a database of its own (``chdb_client``). Never open ``chdb://`` elsewhere
    in-process in tests (subprocesses are fine).
    """
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def chdb_client(chdb_path: Path):
    """A clickhouse-connect chDB client on a fresh, private database (dropped afterwards)."""
    import clickhouse_connect

    database = f"t_{uuid.uuid4().hex[:12]}"
    admin = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}")
    admin.command(f"CREATE DATABASE {database}")
    client = clickhouse_connect.get_client(dsn=f"chdb://{chdb_path}", database=database)
    yield client
    client.close()
    admin.command(f"DROP DATABASE IF EXISTS {database} SYNC")
    admin.close()


def swap_in_place(services: Services, **fields) -> None:
    """Tests only: change fields of a Services that the app under test already holds.

    Services is frozen so that no process rewires it after open_services; a test
    that points it at its own chDB database or a fake Shopify does so here, visibly.
    """
    for name, value in fields.items():
        object.__setattr__(services, name, value)


async def count_rows(conn, table: sa.Table, **where) -> int:
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return (await conn.execute(query)).scalar_one()

"""open_services(settings): every pool and client a process needs, opened once.

The web app, workers, CLI and tests all enter ``async with open_services(...)``
and pass the resulting :class:`Services` down. A store that cannot be reached
at start-up raises :class:`~origin.settings.ConfigurationError` naming its
variable, so a typo in a URL is one line, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import redis.asyncio as aioredis
import sqlalchemy as sa
from aiocache import BaseCache, RedisCache, SimpleMemoryCache
from aiocache.serializers import PickleSerializer
from sqlalchemy.ext.asyncio import AsyncEngine

from origin import db
from origin.broadcast import Broadcast, MemoryBroadcast, RedisBroadcast
from origin.settings import ConfigurationError, Secret, Settings, redact_url

log = logging.getLogger(__name__)

OUTBOUND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Services:
    settings: Settings
    db: AsyncEngine
    cache: BaseCache
    broadcast: Broadcast
    http: httpx.AsyncClient
    redis: aioredis.Redis | None = None
    analytics: Any | None = None  # clickhouse_connect client; None when the process did not ask for it
    extras: dict[str, Any] = field(default_factory=dict)  # per-process objects wired at start-up

    async def health(self) -> dict[str, dict[str, str]]:
        """The state of each store, for /healthz: never raises."""
        report: dict[str, dict[str, str]] = {}
        backend = "sqlite" if self.settings.uses_embedded_database else "mysql"
        report["database"] = await _probe(backend, self._ping_database())
        report["cache"] = await _probe("redis" if self.redis else "memory", self._ping_cache())
        if self.analytics is not None:
            kind = "chdb" if self.settings.effective_analytics_url.startswith("chdb") else "clickhouse"
            report["analytics"] = await _probe(kind, asyncio.to_thread(self.analytics.command, "SELECT 1"))
        return report

    async def _ping_database(self) -> None:
        async with self.db.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def _ping_cache(self) -> None:
        if self.redis is not None:
            await self.redis.ping()


async def _probe(kind: str, check) -> dict[str, str]:
    try:
        await asyncio.wait_for(check, timeout=2.0)
    except Exception as error:  # a health report describes failures, it does not raise them
        return {"backend": kind, "status": "down", "error": type(error).__name__}
    return {"backend": kind, "status": "ok"}


def effective_secret_key(settings: Settings) -> Secret:
    """ZELLY_SECRET_KEY, or one generated on first run and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return Secret(path.read_text().strip())


def make_redis(url: str) -> aioredis.Redis:
    # socket_timeout=None: with a finite read timeout, blocking stream reads on
    # Python 3.11 swallow SIGTERM (cpython #86296); connect stays bounded.
    return aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=None, health_check_interval=30)


def make_cache(settings: Settings, namespace: str = "zelly") -> BaseCache:
    # timeout=None: aiocache would wrap every call in asyncio.wait_for, which on
    # Python 3.11 can swallow a task's cancellation when the call completes at the
    # same moment (a background listener then never stops and shutdown hangs).
    # Redis calls are bounded by the socket timeouts instead.
    if not settings.redis_url:
        return SimpleMemoryCache(serializer=PickleSerializer(), namespace=namespace, timeout=None)
    url = aioredis.connection.parse_url(settings.redis_url)
    return RedisCache(
        serializer=PickleSerializer(),
        namespace=namespace,
        timeout=None,
        endpoint=url.get("host", "127.0.0.1"),
        port=url.get("port", 6379),
        db=url.get("db", 0),
        password=url.get("password"),
        create_connection_timeout=5,
        connection_pool_kwargs={"socket_timeout": 5},
    )


def open_analytics(settings: Settings):
    """A clickhouse-connect client: chDB in-process for chdb://, HTTP otherwise.

    chDB locks its data directory: only one process may hold it (see ARCHITECTURE.md).
    """
    import clickhouse_connect

    url = settings.effective_analytics_url
    try:
        if url.startswith("chdb://"):
            # Absolute, so the DSN reads chdb:///abs/path: a relative chdb://var/x would parse "var" as a host.
            path = Path(url.removeprefix("chdb://")).resolve()
            path.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(dsn=f"chdb://{path}")
        return clickhouse_connect.get_client(dsn=url, connect_timeout=5, send_receive_timeout=30)
    except Exception as error:  # any failure to open analytics is a configuration problem at start-up
        raise ConfigurationError(
            "ZELLY_ANALYTICS_URL", f"cannot open {redact_url(url)}: {type(error).__name__}: {error}"
        ) from None


@contextlib.asynccontextmanager
async def open_services(settings: Settings, *, with_analytics: bool = True) -> AsyncIterator[Services]:
    settings = settings.replace(secret_key=effective_secret_key(settings))
    engine = db.create_engine(settings.effective_database_url, settings.database_schema_prefix)
    redis_client: aioredis.Redis | None = None
    http = httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=False)
    analytics = None
    cache: BaseCache | None = None
    try:
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as error:  # report the store, not the driver's traceback
            raise ConfigurationError(
                "ZELLY_DATABASE_URL",
                f"cannot connect to {redact_url(settings.effective_database_url)}: {_first_line(error)}",
            ) from None
        if settings.redis_url:
            redis_client = make_redis(settings.redis_url)
            try:
                await asyncio.wait_for(redis_client.ping(), timeout=5)
            except Exception as error:
                raise ConfigurationError(
                    "ZELLY_REDIS_URL", f"cannot reach {redact_url(settings.redis_url)}: {_first_line(error)}"
                ) from None
        broadcast: Broadcast = RedisBroadcast(redis_client) if redis_client else MemoryBroadcast()
        if with_analytics:
            analytics = await asyncio.to_thread(open_analytics, settings)
        cache = make_cache(settings)
        yield Services(
            settings=settings,
            db=engine,
            cache=cache,
            broadcast=broadcast,
            http=http,
            redis=redis_client,
            analytics=analytics,
        )
    finally:
        if isinstance(cache, RedisCache):
            # aiocache's close() calls redis-py's deprecated close(); close the client directly.
            await cache.client.aclose()
        elif cache is not None:
            await cache.close()
        await http.aclose()
        if redis_client is not None:
            await redis_client.aclose()
        if analytics is not None:
            with contextlib.suppress(Exception):
                analytics.close()
        await engine.dispose()


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()

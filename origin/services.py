"""open_services(settings): every pool and client a process needs, opened once.

The web app, workers, CLI and tests all enter ``async with open_services(...)``
and pass the resulting :class:`Services` down. A store that cannot be reached
at start-up raises :class:`~origin.settings.ConfigurationError` naming its
variable, so a typo in a URL is one line, not a traceback.

Redis gets two pools: ``Services.redis`` for pub/sub, streams and dedupe (no
read timeout: its blocking reads wait as long as they must) and the
shared cache's own (origin/cache.py: short socket timeouts and a circuit
breaker, the request path). Publishing, webhook dedupe and enqueueing go through
the short-timeout pool too (:attr:`Services.request_redis`): only blocking
stream and pub/sub reads may wait on Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Protocol

import httpx
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from edge.cloudflare import CloudflarePurgeQueue
from edge.tags import PURGE_CHANNEL
from observability.metrics import Metrics
from observability.stores import instrument_engine, instrument_redis
from origin import db
from origin.broadcast import Broadcast, ChangeLogBroadcast, RedisBroadcast
from origin.cache import BoundedLru, Cache, MemoryCache, RedisCache
from origin.catalog_versions import CatalogVersions
from origin.keyring import Keyring
from origin.ratelimit import RateLimits, make_rate_limiter
from origin.settings import ConfigurationError, Secret, Settings, redact_url
from tls.ask import AllowList

log = logging.getLogger(__name__)

OUTBOUND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SHOPIFY_CONNECTIONS_MEMO_SIZE = 10_000


class TaskQueue(Protocol):
    """What origin code enqueues through (workers.dispatch.BrokerTaskQueue); see origin/queueing.py."""

    async def enqueue(self, queue: str, task_name: str, **kwargs: Any) -> None: ...

    async def backlogs(self) -> Mapping[str, Any]:
        """Each task stream's origin.queueing.StreamBacklog (empty on the embedded default)."""
        ...


class EventsQueue(Protocol):
    """The analytics events queue (origin/analytics/queue.py: Redis stream or in-memory)."""

    async def publish(self, rows: list[dict[str, Any]]) -> None: ...

    async def backlog(self) -> int: ...


class DailySaltSource(Protocol):
    """The day's visitor-id salt (origin/analytics/privacy.py DailySalts)."""

    async def for_day(self, day: dt.date) -> bytes: ...


@dataclass(eq=False)
class AllowListRunner:
    """The process's TLS allow-list and its refresher, shared by the public and internal apps."""

    allow_list: AllowList
    loaded: asyncio.Future
    task: asyncio.Task | None = None
    users: int = 0


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()


@dataclass(frozen=True, eq=False)
class Services:
    """The stores and per-process parts of one process, typed and named (issue 10, item 4).

    Two kinds of field:

    - what :func:`open_services` builds (stores, the keyring, the
      catalog versions): set once in the constructor, never reassigned;
    - the parts a later start-up step builds because they need these Services
      first (the task queue's in-memory brokers run tasks on them, the
      allow-list loads from the database and runs as long as the apps do, the
      Cloudflare queue exists only in ``zelly origin`` with a token) or that a
      domain builds on first use so the kernel imports no domain (the analytics
      events queue and salts). They are set through :meth:`attach` only: one
      typed method, so every late part is listed here and every assignment is
      greppable; attaching a second, different part raises (wiring is done
      once), None detaches it at shutdown.

    Handing everything to open_services instead would make the kernel import
    every domain (the layers contract forbids it) and would still not solve the
    task queue's circle.
    """

    settings: Settings
    db: AsyncEngine
    cache: Cache
    broadcast: Broadcast
    http: httpx.AsyncClient
    catalog_versions: CatalogVersions
    keyring: Keyring = field(repr=False)  # every key derived from ZELLY_SECRET_KEY (origin/keyring.py)
    rate_limits: RateLimits  # the ZELLY_RATE_LIMIT_* budgets and their token buckets (origin/ratelimit.py)
    redis: aioredis.Redis | None = None  # pub/sub, streams, dedupe: no read timeout (blocking reads)
    analytics: Any | None = None  # clickhouse_connect client; None when the process did not ask for it
    # This process's metrics (its own registry, served on its internal listener: observability/).
    metrics: Metrics = field(default_factory=lambda: Metrics("origin"))
    # Attached at start-up (see attach()).
    task_queue: TaskQueue | None = None
    events_queue: EventsQueue | None = None
    analytics_salts: DailySaltSource | None = None
    allow_list_runner: AllowListRunner | None = None
    cloudflare_purge: CloudflarePurgeQueue | None = None
    payment_providers: Any | None = None  # origin.payments.PaymentProviders (origin/payments/stripe.py providers_of)
    shopify_client_options: Mapping[str, Any] = field(default_factory=dict)  # tests shorten HTTP retry back-off
    # In-process memo of shop domain -> (expires at, Connection | None), owned by origin/shopify/connections.py.
    # Keyed by a header any sender controls: bounded, least recently used out first.
    shopify_connections: BoundedLru = field(default_factory=lambda: BoundedLru(SHOPIFY_CONNECTIONS_MEMO_SIZE), repr=False)
    # Tenants whose template (theme or email) is being test-rendered in this process, owned by
    # origin/tenancy/themes.py template_check_turn: one at a time per tenant, so a merchant's hostile
    # PUTs (each up to the 1 s budget) cannot hold every render thread at once.
    template_checks: set[int] = field(default_factory=set, repr=False)
    # Tenant id -> its order placements waiting for the next batch, owned by origin/checkout/placement.py:
    # concurrent placements of one shop share one transaction (group commit).
    placement_queues: dict[int, Any] = field(default_factory=dict, repr=False)

    def attach(
        self,
        *,
        task_queue: TaskQueue | None = UNCHANGED,
        events_queue: EventsQueue | None = UNCHANGED,
        analytics_salts: DailySaltSource | None = UNCHANGED,
        allow_list_runner: AllowListRunner | None = UNCHANGED,
        cloudflare_purge: CloudflarePurgeQueue | None = UNCHANGED,
        shopify_client_options: Mapping[str, Any] = UNCHANGED,
        payment_providers: Any | None = UNCHANGED,
    ) -> None:
        """Set (or with None, clear) late parts; replacing one attached part by another raises."""
        parts = {
            "task_queue": task_queue,
            "events_queue": events_queue,
            "analytics_salts": analytics_salts,
            "allow_list_runner": allow_list_runner,
            "cloudflare_purge": cloudflare_purge,
            "payment_providers": payment_providers,
        }
        for name, part in parts.items():
            if part is UNCHANGED:
                continue
            current = getattr(self, name)
            if part is not None and current is not None and current is not part:
                raise RuntimeError(f"Services.{name} is already attached")
            object.__setattr__(self, name, part)
        if shopify_client_options is not UNCHANGED:
            object.__setattr__(self, "shopify_client_options", dict(shopify_client_options))

    @property
    def request_redis(self) -> aioredis.Redis | None:
        """Redis for request-path commands (short socket timeouts), None on the embedded default."""
        return self.cache.client if isinstance(self.cache, RedisCache) else None

    @property
    def redis_breaker(self):
        """The request path's circuit breaker over Redis (origin.cache.CircuitBreaker), None embedded."""
        return self.cache.breaker

    @property
    def allow_list(self) -> AllowList | None:
        return self.allow_list_runner.allow_list if self.allow_list_runner is not None else None

    async def health(self) -> dict[str, dict[str, str]]:
        """The state of each store, for /healthz: never raises."""
        report: dict[str, dict[str, str]] = {}
        backend = "sqlite" if self.settings.uses_embedded_database else "mysql"
        report["database"] = await _probe(backend, self._ping_database())
        report["cache"] = await _probe("redis" if self.redis else "memory", self.cache.ping())
        if self.analytics is not None:
            kind = "chdb" if self.settings.effective_analytics_url.startswith("chdb") else "clickhouse"
            report["analytics"] = await _probe(kind, asyncio.to_thread(self.analytics.command, "SELECT 1"))
        return report

    async def _ping_database(self) -> None:
        async with self.db.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))


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


def previous_secret_path(settings: Settings) -> Path:
    """Where ``zelly secret rotate`` keeps the previous embedded secret during the overlap."""
    return Path(settings.data_dir) / "secret.previous.key"


def previous_secret_key(settings: Settings) -> Secret:
    """ZELLY_SECRET_KEY_PREVIOUS, or on the embedded default the rotated-out secret file (empty when none)."""
    if settings.secret_key_previous or settings.secret_key:
        return settings.secret_key_previous
    path = previous_secret_path(settings)
    return Secret(path.read_text().strip()) if path.exists() else Secret("")


def make_keyring(settings: Settings) -> Keyring:
    """The keyring for a Settings whose secret_key is already the effective one (open_services does that)."""
    current = effective_secret_key(settings)
    return Keyring.from_secrets(current.reveal(), [previous_secret_key(settings).reveal()])


def make_redis(url: str) -> aioredis.Redis:
    # No read timeout: this client's reads block by design (pub/sub listeners wait for the
    # next message, stream consumers for the next batch); connect stays bounded. Commands on
    # the request path go through the shared cache's own pool, which has read timeouts.
    return aioredis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=None, health_check_interval=30)


def make_cache(settings: Settings) -> Cache:
    """Redis when configured (its own pool, bounded socket timeouts), else the in-process memory cache."""
    if not settings.redis_url:
        return MemoryCache()
    return RedisCache.from_url(settings.redis_url, timeout=settings.redis_request_timeout_ms / 1000)


class LazyClickHouseClient:
    """``Services.analytics`` on a ClickHouse server: it connects on first use, and again after a failure.

    clickhouse-connect's HTTP client asks the server for its version when it is
    created, so a ClickHouse that is down at start-up used to stop every origin
    with a configuration error, and one that went away was never asked again.
    ClickHouse is analytics, not the shop (issue 12, item 11): the process
    starts without it, reports and the dashboard answer 503 (origin/analytics/
    engine.py maps the connection error), the consumer backs off with events
    waiting in their queue, and the first call after it answers again connects.
    A failed connect is not tried again for ``retry_seconds``, so a flood of
    report requests during an outage costs no connect attempt each. The
    methods are the client's own (query, command, raw_insert), called from a
    worker thread like the client's (engine.py runs them through to_thread).
    """

    def __init__(self, connect: Callable[[], Any], description: str, *, retry_seconds: float = 1.0) -> None:
        self._connect = connect
        self.description = description
        self.retry_seconds = retry_seconds
        self._client: Any | None = None
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._failure = ""
        self.connect_attempts = 0

    def _connected(self) -> Any:
        from clickhouse_connect.driver.exceptions import OperationalError

        with self._lock:
            if self._failed_at is not None and time.monotonic() - self._failed_at < self.retry_seconds:
                raise OperationalError(f"{self.description} is unreachable ({self._failure}); not retried yet")
            if self._client is not None:
                return self._client
            self.connect_attempts += 1
            try:
                self._client = self._connect()
            except OperationalError as error:
                self._note_failure(error)
                raise
            return self._client

    def _note_failure(self, error: BaseException) -> None:
        first_time = self._failed_at is None
        self._failed_at, self._failure = time.monotonic(), _first_line(error)[:200]
        if first_time:
            log.warning("analytics: cannot reach %s (%s); connecting again on next use", self.description, self._failure)

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from clickhouse_connect.driver.exceptions import OperationalError

        client = self._connected()
        try:
            result = getattr(client, method)(*args, **kwargs)
        except OperationalError as error:
            # A server that went away after connecting: the same pause, so calls queued behind a
            # silent server's timeout fail at once instead of each waiting out its own.
            with self._lock:
                self._note_failure(error)
            raise
        if self._failed_at is not None:
            with self._lock:
                self._failed_at = None
            log.info("analytics: %s answers again", self.description)
        return result

    @property
    def is_connected(self) -> bool:
        return self._client is not None

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("query", *args, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("command", *args, **kwargs)

    def raw_insert(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("raw_insert", *args, **kwargs)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


def open_analytics(settings: Settings, *, required: bool = False):
    """A clickhouse-connect client: chDB in-process for chdb://, HTTP otherwise (a :class:`LazyClickHouseClient`).

    chDB locks its data directory: only one process may hold it (see docs/architecture.md, Data).
    A ClickHouse server that cannot be reached does not stop the process (``required``, for
    ``zelly migrate``, makes it a configuration error); a URL or credentials it refuses do.
    """
    import clickhouse_connect
    from clickhouse_connect.driver.exceptions import OperationalError

    url = settings.effective_analytics_url
    try:
        if url.startswith("chdb://"):
            # Absolute, so the DSN reads chdb:///abs/path: a relative chdb://var/x would parse "var" as a host.
            path = Path(url.removeprefix("chdb://")).resolve()
            path.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(dsn=f"chdb://{path}")
        client = LazyClickHouseClient(
            lambda: clickhouse_connect.get_client(dsn=url, connect_timeout=5, send_receive_timeout=30), redact_url(url)
        )
        try:
            client.command("SELECT 1")
        except OperationalError:
            if required:
                raise
        return client
    except Exception as error:  # any other failure to open analytics is a configuration problem at start-up
        raise ConfigurationError(
            "ZELLY_ANALYTICS_URL", f"cannot open {redact_url(url)}: {type(error).__name__}: {error}"
        ) from None


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings, *, with_analytics: bool = True, require_analytics: bool = False, service: str = "origin"
) -> AsyncIterator[Services]:
    """``require_analytics``: a ClickHouse server that cannot be reached stops the process (zelly migrate).

    ``service`` names the process kind in its metrics (origin, worker, store-events, ...).
    """
    metrics = Metrics(service, top_tenants=settings.metrics_top_tenants)
    keyring = make_keyring(settings)
    settings = settings.replace(secret_key=effective_secret_key(settings))
    read_timeout_s = settings.database_read_timeout_ms / 1000
    engine = db.create_engine(settings.effective_database_url, settings.database_schema_prefix, read_timeout_s=read_timeout_s)
    instrument_engine(engine, metrics)
    redis_client: aioredis.Redis | None = None
    http = httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=False)
    analytics = None
    cache: Cache | None = None
    broadcast: Broadcast | None = None
    change_log_engine: AsyncEngine | None = None
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
            redis_client = instrument_redis(make_redis(settings.redis_url), metrics)
            try:
                await asyncio.wait_for(redis_client.ping(), timeout=5)
            except Exception as error:
                raise ConfigurationError(
                    "ZELLY_REDIS_URL", f"cannot reach {redact_url(settings.redis_url)}: {_first_line(error)}"
                ) from None
        cache = make_cache(settings)
        if isinstance(cache, RedisCache):
            instrument_redis(cache.client, metrics)
        if redis_client is not None and isinstance(cache, RedisCache):
            broadcast = RedisBroadcast(redis_client, publisher=cache.client, breaker=cache.breaker)
        else:
            # No Redis: the database carries messages between processes (issue 12, item 8), on a
            # pool of its own so the change log's polling never waits for or delays a request.
            change_log_engine = db.create_engine(settings.effective_database_url, settings.database_schema_prefix, pool_size=1, read_timeout_s=read_timeout_s)
            broadcast = ChangeLogBroadcast(change_log_engine)
        catalog_versions = CatalogVersions(cache, broadcast, remember=redis_client is not None)
        if isinstance(broadcast, ChangeLogBroadcast):
            broadcast.on_remote(PURGE_CHANNEL, catalog_versions.apply_remote_purge)
        if with_analytics:
            analytics = await asyncio.to_thread(functools.partial(open_analytics, settings, required=require_analytics))
        yield Services(
            settings=settings,
            db=engine,
            cache=cache,
            broadcast=broadcast,
            http=http,
            catalog_versions=catalog_versions,
            keyring=keyring,
            rate_limits=RateLimits.from_settings(settings, make_rate_limiter(cache)),
            redis=redis_client,
            analytics=analytics,
            metrics=metrics,
        )
    finally:
        # Each close is bounded: a store that is down must not keep the process from exiting (issue 12).
        if isinstance(broadcast, (RedisBroadcast, ChangeLogBroadcast)):
            await close_bounded("the pub/sub client", broadcast.close)
        if change_log_engine is not None:
            await close_bounded("the change log's database pool", change_log_engine.dispose)
        if cache is not None:
            await close_bounded("the shared cache", cache.close)
        await close_bounded("the HTTP client", http.aclose)
        if redis_client is not None:
            await close_bounded(f"Redis ({redact_url(settings.redis_url)})", redis_client.aclose)
        if analytics is not None:
            with contextlib.suppress(Exception):
                analytics.close()
        await close_bounded(f"the database ({redact_url(settings.effective_database_url)})", engine.dispose)


CLOSE_TIMEOUT_S = 1.5


async def close_bounded(name: str, close: Callable[[], Awaitable[Any]], timeout_s: float = CLOSE_TIMEOUT_S) -> bool:
    """One shutdown step that cannot hang: what could not be closed is named in the log and left to the OS."""
    try:
        await asyncio.wait_for(close(), timeout_s)
        return True
    except TimeoutError:
        log.warning("shutdown: could not close %s within %.1fs (unreachable?); left behind", name, timeout_s)
    except Exception as error:  # a close of something already broken: say so, keep closing the rest
        log.warning("shutdown: could not close %s: %s", name, _first_line(error))
    return False


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".strip()

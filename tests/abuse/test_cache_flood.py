"""100,000 hostile URLs through the edge leave the shared Redis under a stated bound (issue 13, item 2).

The edge runs in front of the real origin app (in-process ASGI, as in
``zelly dev``) with both of its tiers: the memory tier in front and the Redis
tier on the real Redis, on both backends: on the servers backend the origin's
own shared cache is on that same Redis, so the bound covers everything a
stranger can make either of them keep. The embedded backend's origin keeps
its shared cache in memory; the edge's Redis tier is on the real Redis in both.

The hostile mix, all without a login and all for one real store:

- random paths (``/x7f3k2q``, ``/products/<random>``, ``/collections/<random>``);
- real pages with random query strings (parameter names and values no page
  reads, plus ``?page=N``);
- random media names (``/media/demo/<store>/<random>.svg``).

Stated bound: at most BOUND_KEYS keys in the Redis db and BOUND_BYTES more
held by them (``MEMORY USAGE`` summed over the db's keys), whatever the number
of hostile URLs; the edge's own share is the few real pages (it keys them
without the junk parameters). The memory tier is this process's, bounded by
bytes per tenant (``tenant_quota_bytes``, least recently used out first). What keeps it there: errors and media never
enter the edge's Redis tier (edge/redis_tier.py, edge/routes.py), unread
parameters are not part of any key, the origin shares neither 404 pages nor
"no such product" reads (origin/web/storefront/page_cache.py), and unknown
media names are refused before anything is drawn.
"""

from __future__ import annotations

import asyncio
import random
import string
import time

import pytest
import redis.asyncio as redis_module

from edge.app import create_edge_app
from edge.config import EdgeConfig
from origin.app import create_app
from origin.catalog.inputs import NewVariant
from edge.redis_tier import RedisTier
from edge.store import Entry
from tests.edge.conftest import redis_client  # noqa: F401 (fixture: the real Redis, this run's db, flushed)
from tests.factories import make_product, make_tenant

HOSTILE_URLS = int(__import__("os").environ.get("HOSTILE_URLS", "100000"))
BOUND_KEYS = 200
BOUND_BYTES = 1024 * 1024
CONCURRENCY = 64


def hostile_targets(count: int, rng: random.Random) -> list[str]:
    def word(low: int = 4, high: int = 12) -> str:
        return "".join(rng.choices(string.ascii_lowercase + string.digits, k=rng.randint(low, high)))

    targets = []
    for n in range(count):
        kind = n % 6
        if kind == 0:
            targets.append(f"/{word()}")
        elif kind == 1:
            targets.append(f"/products/{word()}")
        elif kind == 2:
            targets.append(f"/collections/{word()}")
        elif kind == 3:
            page = rng.choice(["/", "/products/hat", "/collections/all", "/search?q=hat"])
            junk = "&".join(f"{word(1, 6)}={word(0, 20)}" for _ in range(rng.randint(1, 4)))
            targets.append(f"{page}{'&' if '?' in page else '?'}{junk}")
        elif kind == 4:
            targets.append(f"/?page={rng.randint(1, 10**9)}")
        else:
            targets.append(f"/media/demo/acme/{word(6, 30)}.svg")
    return targets


async def bytes_held(redis_client) -> int:
    """MEMORY USAGE summed over this db's keys: other tests' dbs on the same server do not count."""
    total = 0
    async for key in redis_client.scan_iter("*", count=1000):
        total += await redis_client.memory_usage(key) or 0
    return total


async def call(app, target: str, host: str) -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", host.encode()), (b"accept-encoding", b"gzip")], "client": ("198.51.100.7", 40000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


@pytest.mark.timeout(1200)  # 100,000 requests through the edge: about 4 min on a quiet machine, far more on a busy one
async def test_a_hundred_thousand_hostile_urls_leave_the_shared_redis_under_its_bound(services, redis_client) -> None:
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    origin_app = create_app(services.settings, services=services)
    edge_app = create_edge_app(EdgeConfig(), origin_app, redis=redis_client)
    targets = hostile_targets(HOSTILE_URLS, random.Random(13))
    await edge_app.startup()
    try:
        for target in ("/", "/products/hat", "/collections/all", "/search?q=hat"):
            assert await call(edge_app, target, "acme.localhost") == 200
        baseline_keys = await redis_client.dbsize()
        baseline_bytes = await bytes_held(redis_client)
        statuses: dict[int, int] = {}
        started = time.monotonic()

        for start in range(0, len(targets), CONCURRENCY):
            batch = targets[start:start + CONCURRENCY]
            for status in await asyncio.gather(*(call(edge_app, target, "acme.localhost") for target in batch)):
                statuses[status] = statuses.get(status, 0) + 1

        elapsed = time.monotonic() - started
        keys = await redis_client.dbsize()
        grown = await bytes_held(redis_client) - baseline_bytes
        edge_entries = [key async for key in redis_client.scan_iter("zelly:edge:e:*")]
        memory_entries, memory_bytes = len(edge_app.store), edge_app.store.bytes
        real_pages_in_memory = sum(1 for path in ("/", "/products/hat", "/collections/all", "/search?q=hat")
                                   if edge_app.store.get(f"GET|acme.localhost{path}{'' if '?' in path else '?'}|gzip") is not None)
    finally:
        await edge_app.shutdown()

    print(f"{HOSTILE_URLS} hostile URLs in {elapsed:.1f}s: {statuses}; redis keys {baseline_keys} -> {keys}, +{grown} bytes; "
          f"edge memory tier {memory_entries} entries, {memory_bytes} bytes, real pages kept {real_pages_in_memory}/4")
    assert sum(statuses.values()) == HOSTILE_URLS
    assert set(statuses) <= {200, 400, 404}  # refused or answered, never a 5xx
    assert keys <= BOUND_KEYS, f"{keys} keys"
    assert grown <= BOUND_BYTES, f"+{grown} bytes"
    assert len(edge_entries) <= 8  # the four real pages (and their ?page / junk spellings share them)
    assert memory_bytes <= 2 * EdgeConfig().tenant_quota_bytes  # the store's tenant's quota, and the tenant-less one
    assert real_pages_in_memory == 4  # the flood did not push the real pages out


def entry(n: int, tenant: str) -> Entry:
    key = f"GET|shop-{tenant}.test/products/p{n}?|gzip"
    return Entry(key=key, url_key=f"shop-{tenant}.test/products/p{n}?", host=f"shop-{tenant}.test", status=200, headers=[],
                 body=b"page", stored_at=time.time(), initial_age=0, ttl=300, stale_while_revalidate=0, stale_if_error=0,
                 etag=None, vary=(), tags=(f"t{tenant}", f"t{tenant}-p{n}"), tenant=tenant)


async def command_calls(redis_client) -> dict[str, int]:
    stats = await redis_client.info("commandstats")
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


async def test_a_tenant_purge_of_thousands_of_entries_scans_and_unlinks_in_batches(redis_client) -> None:
    tier = RedisTier(redis_client, admissions_per_minute=100_000, purge_batch=25)
    for n in range(3_000):
        assert await tier.put(entry(n, "1"))
    assert await tier.put(entry(0, "2"))
    before = await command_calls(redis_client)

    deleted = await tier.purge(tags=["t1"])

    after = await command_calls(redis_client)
    calls = {name: after.get(name, 0) - before.get(name, 0) for name in after}
    assert deleted == 3_000
    assert [key async for key in redis_client.scan_iter("zelly:edge:e:*")] == [b"zelly:edge:e:GET|shop-2.test/products/p0?|gzip"]
    # 16 shards of ~190 members each: at least 3_000 / 25 UNLINKs of at most 25 keys, each shard paged by ZSCAN.
    assert calls["unlink"] >= 3_000 // 25
    assert calls["zscan"] >= 16
    assert calls.get("smembers", 0) == calls.get("del", 0) == calls.get("keys", 0) == 0  # never one command over everything


async def test_a_flood_of_random_404s_does_not_push_a_tenants_colder_pages_out_of_the_memory_tier(services, redis_client) -> None:
    # Every 404 is fresh for at most negative_ttl (5 s) but stayed until LRU reached it: enough random paths
    # filled the tenant's whole quota with dead 404s and evicted its real pages. Error entries now have their
    # own share of the quota (edge/store.py NEGATIVE_SHARE); the flood replaces 404s with 404s.
    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    config = EdgeConfig(tenant_quota_bytes=256 * 1024)
    edge_app = create_edge_app(config, create_app(services.settings, services=services), redis=redis_client)
    pages = ("/", "/products/hat", "/collections/all", "/search?q=hat")
    rng = random.Random(404)
    await edge_app.startup()
    try:
        for target in pages:
            assert await call(edge_app, target, "acme.localhost") == 200
        statuses = []
        for start in range(0, 2000, CONCURRENCY):
            targets = [f"/{''.join(rng.choices(string.ascii_lowercase, k=16))}" for _ in range(CONCURRENCY)]
            statuses += await asyncio.gather(*(call(edge_app, target, "acme.localhost") for target in targets))
        kept = [path for path in pages
                if edge_app.store.get(f"GET|acme.localhost{path}{'' if '?' in path else '?'}|gzip") is not None]
        negative, total = edge_app.store.negative_bytes(str(tenant.id)), edge_app.store.tenant_bytes(str(tenant.id))
    finally:
        await edge_app.shutdown()

    assert set(statuses) == {404}
    assert total > negative > 0  # the 404s were cached (each spares the origin for its few seconds)...
    assert negative <= config.tenant_quota_bytes // 8  # ...within their share
    assert kept == list(pages)  # and the tenant's pages, untouched during the flood, are all still there


async def test_the_edge_keeps_its_pages_on_its_own_redis_apart_from_carts_and_queues(services, public_port, redis_client, tmp_path) -> None:
    # ZELLY_EDGE_REDIS_URL: the edge's Redis tier on a Redis of its own (allkeys-lru in production), so whatever
    # a flood leaves there is evicted without touching the task streams, carts and dedupe keys on ZELLY_REDIS_URL.
    from ops.commands.edge import build_edge_app
    from tests.faults.harness import RedisServer

    tenant = await make_tenant(services, slug="acme")
    await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    own = RedisServer(tmp_path)
    own.start()
    try:
        settings = services.settings.replace(edge_redis_url=own.url, edge_upstream=f"http://127.0.0.1:{public_port}")
        edge_app = build_edge_app(settings)
        await edge_app.startup()
        try:
            statuses = [await call(edge_app, path, "acme.localhost") for path in ("/", "/products/hat")]
        finally:
            await edge_app.shutdown()
        async with redis_module.Redis.from_url(own.url) as own_client:
            on_its_own = [key async for key in own_client.scan_iter("zelly:edge:e:*")]
        on_the_shared = [key async for key in redis_client.scan_iter("zelly:edge:*")]
    finally:
        own.stop()

    assert statuses == [200, 200]
    assert len(on_its_own) == 2  # both pages, on the edge's Redis
    assert on_the_shared == []  # nothing of the edge's on the Redis of carts, queues and dedupe keys

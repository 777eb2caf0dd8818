"""What the edge may put into the shared Redis, and how much (issue 13, item 2), on the real Redis."""

from __future__ import annotations

import time

from edge.cache_keys import EDGE_INDEX_SHARDS, edge_index_shard
from edge.config import EdgeConfig
from edge.redis_tier import RedisTier
from edge.store import Entry
from tests.edge.conftest import TOKEN, running_edge, shop


def entry(path: str, *, tenant: str = "1", status: int = 200, ttl: int = 60, tags: tuple[str, ...] | None = None) -> Entry:
    key = f"GET|shop-a.test{path}?|gzip"
    return Entry(key=key, url_key=f"shop-a.test{path}?", host="shop-a.test", status=status, headers=[], body=b"page",
                 stored_at=time.time(), initial_age=0, ttl=ttl, stale_while_revalidate=0, stale_if_error=0, etag=None,
                 vary=(), tags=tags if tags is not None else (f"t{tenant}",), tenant=tenant)


async def edge_keys(redis_client) -> list[bytes]:
    return sorted([key async for key in redis_client.scan_iter("zelly:edge:e:*")])


async def test_404s_and_media_stay_in_memory_and_media_only_briefly(origin, redis_client) -> None:
    standin, url = origin
    standin.set("/nothing-here", status=404, cache_control="public, s-maxage=60")
    standin.set("/media/demo/acme/x-1.svg", cache_control="public, max-age=31536000, immutable")
    async with running_edge(url, redis=redis_client) as (app, client):

        missing = await client.get("/nothing-here", headers=shop())
        media = await client.get("/media/demo/acme/x-1.svg", headers=shop())
        page = await client.get("/products/hat", headers=shop())
        media_again = await client.get("/media/demo/acme/x-1.svg", headers=shop())

    assert missing.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=404; stored; ttl=5"
    assert media.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=300"
    assert media_again.headers["cache-status"].startswith("Zelly; hit")
    assert page.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert await edge_keys(redis_client) == [b"zelly:edge:e:GET|shop-a.test/products/hat?|gzip"]


async def test_redis_tier_lifetimes_are_capped_whatever_the_origin_asks(origin, redis_client) -> None:
    standin, url = origin
    standin.set("/products/forever", cache_control="public, s-maxage=31536000, stale-while-revalidate=86400")
    async with running_edge(url, EdgeConfig(internal_token=TOKEN, redis_max_ttl=120), redis=redis_client) as (app, client):

        await client.get("/products/forever", headers=shop())

    ttl = await redis_client.ttl("zelly:edge:e:GET|shop-a.test/products/forever?|gzip")
    assert 110 <= ttl <= 120
    shard = edge_index_shard("GET|shop-a.test/products/forever?|gzip")
    assert 110 <= await redis_client.ttl(f"zelly:edge:tag:t1:s{shard}") <= 120


async def test_past_its_admission_budget_a_tenant_s_new_pages_stay_in_memory_and_other_tenants_are_unaffected(redis_client) -> None:
    tier = RedisTier(redis_client, admissions_per_minute=3)
    pages = [entry(f"/products/p{n}") for n in range(5)]

    admitted = [await tier.put(page) for page in pages]
    overwrite = await tier.put(pages[0])  # a refresh of an entry already there is no new admission
    other_tenant = await tier.put(entry("/products/p9", tenant="2"))
    no_tenant = await tier.put(entry("/products/p8", tenant="", tags=()))

    assert admitted == [True, True, True, False, False]
    assert overwrite is True and other_tenant is True and no_tenant is False
    assert tier.refused == 2
    assert len(await edge_keys(redis_client)) == 4


async def test_index_sets_are_sharded_and_hold_only_live_entries(redis_client) -> None:
    tier = RedisTier(redis_client, ttl_slack=0)
    live = entry("/products/live")
    shard = edge_index_shard(live.key)
    index = f"zelly:edge:tag:t1:s{shard}"
    await redis_client.zadd(index, {"GET|shop-a.test/products/long-gone?|gzip": time.time() - 10})

    await tier.put(live)

    assert await redis_client.zrange(index, 0, -1) == [live.key.encode()]  # the expired member was trimmed
    assert await redis_client.exists(f"zelly:edge:host:shop-a.test:s{shard}") == 1
    assert await redis_client.exists("zelly:edge:tag:t1") == 0  # no unsharded index


async def test_a_tenant_purge_scans_and_unlinks_thousands_of_entries_in_batches_and_leaves_other_tenants(redis_client) -> None:
    tier = RedisTier(redis_client, admissions_per_minute=10_000)
    for n in range(1_200):
        assert await tier.put(entry(f"/products/p{n}", tags=("t1", f"t1-p{n}")))
    assert await tier.put(entry("/products/keep", tenant="2"))

    deleted = await tier.purge(tags=["t1"])

    assert deleted == 1_200
    assert await edge_keys(redis_client) == [b"zelly:edge:e:GET|shop-a.test/products/keep?|gzip"]
    assert [key async for key in redis_client.scan_iter("zelly:edge:tag:t1:s*")] == []
    assert sum([await redis_client.exists(f"zelly:edge:tag:t2:s{s}") for s in range(EDGE_INDEX_SHARDS)]) == 1

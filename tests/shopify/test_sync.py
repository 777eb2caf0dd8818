"""Catalog sync against the fake Admin API: pagination, throttle, incremental, prune, resume, bulk."""

from __future__ import annotations

import datetime as dt

import pytest

from origin.shopify import bulk, sync
from origin.shopify.errors import ShopifyError, ShopifyUnavailable
from origin.shopify.runs import do_start_sync, get_run
from tests.fakes.shopify import make_catalog
from tests.fakes.shopify.catalog import iso
from tests.shopify_harness import catalog_rows, fake_rows, make_shop, running_fake, running_queues


@pytest.fixture
async def env(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake, running_queues(services) as queues:
        yield services, fake, queues


async def test_full_sync_pages_through_everything_and_equals_the_shop(env):
    services, fake, queues = env
    shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(40, collections=3), restore_rate=20000)
    other, _ = await make_shop(services, fake, "other", make_catalog(2))

    run = await do_start_sync(services, shop.tenant_id, "full")
    await queues.drain()

    run = await get_run(services, shop.tenant_id, run.id)
    assert (run.state, run.products_seen, run.products_written, run.collections_seen) == ("succeeded", 40, 40, 3)
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)
    assert await catalog_rows(services, other.tenant_id) == {}
    product_pages = [entry for entry in fake_shop.requests if entry["requested"] == 998]
    assert len(product_pages) == 7  # 40 products, 6 per page
    assert max(entry["requested"] for entry in fake_shop.requests) <= 1000


async def test_throttle_is_honoured_no_request_into_an_empty_bucket(env):
    services, fake, queues = env
    shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(30), bucket_size=1000, restore_rate=2000)
    fake_shop.bucket.empty()

    run = await do_start_sync(services, shop.tenant_id, "full")
    await queues.drain()

    assert (await get_run(services, shop.tenant_id, run.id)).state == "succeeded"
    # Only the very first request, sent before the client had seen the bucket, meets it empty;
    # the client then waits for the refill Shopify reported before the next. The bucket refills
    # from the moment it was emptied, so the wait owed is what was missing at that first request.
    first, second = fake_shop.requests[0], fake_shop.requests[1]
    owed_seconds = (first["requested"] - first["available"]) / 2000
    assert [entry["throttled"] for entry in fake_shop.requests[:2]] == [True, False]
    assert fake_shop.throttled == 1
    # ...and /metrics says so (observability.metrics): one THROTTLED answer, the bucket's last state.
    assert services.metrics.registry.get_sample_value("zelly_shopify_throttled_total") == 1.0
    assert 0 < services.metrics.registry.get_sample_value("zelly_shopify_throttle_available_ratio") <= 1
    assert owed_seconds > 0.05
    assert second["at"] - first["at"] >= owed_seconds - 0.01
    assert all(entry["available"] >= entry["requested"] for entry in fake_shop.requests[1:])
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


async def test_5xx_and_429_are_retried(env):
    services, fake, queues = env
    shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(10), restore_rate=20000)
    fake_shop.fail_next(500, 429, 503)

    run = await do_start_sync(services, shop.tenant_id, "full")
    await queues.drain()

    assert (await get_run(services, shop.tenant_id, run.id)).state == "succeeded"
    assert [entry["status"] for entry in fake_shop.requests[:4]] == [500, 429, 503, 200]
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


async def test_incremental_sync_fetches_only_changes_and_full_sync_prunes_deleted(env):
    services, fake, queues = env
    shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(12), restore_rate=20000)
    await do_start_sync(services, shop.tenant_id, "full")
    await queues.drain()
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    gids = list(fake_shop.catalog.products)
    fake_shop.catalog.touch(gids[0], later, title="Renamed")
    fake_shop.catalog.add_product(title="New one", updated_at=later)

    incremental = await do_start_sync(services, shop.tenant_id, "incremental")
    await queues.drain()
    fake_shop.catalog.delete_product(gids[1])
    fake_shop.catalog.delete_product(gids[2])
    full = await do_start_sync(services, shop.tenant_id, "full")
    await queues.drain()

    incremental = await get_run(services, shop.tenant_id, incremental.id)
    full = await get_run(services, shop.tenant_id, full.id)
    assert (incremental.state, incremental.products_seen, incremental.products_deleted) == ("succeeded", 2, 0)
    assert (full.state, full.products_seen, full.products_deleted) == ("succeeded", 11, 2)
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


class _CrashingClient:
    """Delegates to the real client and raises a network failure on the Nth call (a worker dying mid-sync)."""

    def __init__(self, client, crash_on: int) -> None:
        self.client, self.calls, self.crash_on = client, 0, crash_on

    async def execute(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.crash_on:
            raise ShopifyUnavailable("connection reset")
        return await self.client.execute(*args, **kwargs)


async def test_a_crashed_run_resumes_from_its_cursor_without_duplicates(services):
    services.attach(shopify_client_options={"backoff_base_s": 0.01})
    async with running_fake(services) as fake:
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(30), restore_rate=20000)
        async with services.db.begin() as conn:
            from origin.db import utcnow
            from origin.shopify.tables import shopify_sync_runs

            result = await conn.execute(shopify_sync_runs.insert().values(tenant_id=shop.tenant_id, kind="full", state="queued", created_at=utcnow(), updated_at=utcnow()))
        run_id = int(result.inserted_primary_key[0])
        connection = await sync.get_connection(services, shop.tenant_id)

        with pytest.raises(ShopifyUnavailable):
            await sync.run_catalog_sync(services, shop.tenant_id, run_id, client=_CrashingClient(sync.make_client(services, connection), 3))
        halfway = await get_run(services, shop.tenant_id, run_id)
        requests_before = len(fake_shop.requests)
        finished = await sync.run_catalog_sync(services, shop.tenant_id, run_id)

    assert (halfway.state, halfway.products_seen, halfway.cursor.startswith("products|")) == ("running", 12, True)
    assert (finished.state, finished.products_seen, finished.products_deleted) == ("succeeded", 30, 0)
    assert len(fake_shop.requests) - requests_before == 3 + 1  # the 3 remaining product pages, 1 collections page
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)


def test_bulk_jsonl_groups_children_under_their_parent():
    lines = [
        '{"id":"gid://shopify/Product/9007199254740993","title":"A","updatedAt":"2026-01-01T00:00:00Z"}',
        '{"id":"gid://shopify/ProductVariant/9007199254740995","price":"1.10","__parentId":"gid://shopify/Product/9007199254740993"}',
        '{"id":"gid://shopify/ProductImage/9007199254740997","url":"https://x/1.jpg","__parentId":"gid://shopify/Product/9007199254740993"}',
        '{"id":"gid://shopify/Product/9007199254740999","title":"B","updatedAt":"2026-01-01T00:00:00Z"}',
    ]

    grouped = list(bulk.group_jsonl(lines))

    assert [(consumed, parent["title"], {k: [c["id"] for c in v] for k, v in children.items()}) for consumed, parent, children in grouped] == [
        (3, "A", {"ProductVariant": ["gid://shopify/ProductVariant/9007199254740995"], "ProductImage": ["gid://shopify/ProductImage/9007199254740997"]}),
        (4, "B", {}),
    ]
    record = bulk.product_from_bulk(grouped[0][1], grouped[0][2])
    assert (record.gid, str(record.variants[0].price), record.images[0].url) == ("gid://shopify/Product/9007199254740993", "1.10", "https://x/1.jpg")
    with pytest.raises(ShopifyError):
        list(bulk.group_jsonl(['{"id":"gid://shopify/ProductVariant/1","__parentId":"gid://shopify/Product/2"}']))


async def test_bulk_sync_equals_the_shop(env):
    services, fake, queues = env
    shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(30, collections=2), restore_rate=20000)

    run = await do_start_sync(services, shop.tenant_id, "bulk")
    await queues.drain()

    run = await get_run(services, shop.tenant_id, run.id)
    assert (run.state, run.products_seen, run.collections_seen) == ("succeeded", 30, 2)
    assert len(fake_shop.bulk_operations) == 2
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)

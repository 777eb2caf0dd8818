"""Redis fails: shoppers are served from the database, intake says 503, nothing accepted is lost (issue 12).

Each fault runs on the embedded SQLite files and on MariaDB, always against
this suite's own redis-server: stopped (refused, then restarted empty) or
black-holed by a loopback proxy (accepts, never answers, then resumes).
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import sqlalchemy as sa

from origin.app import create_internal_app
from origin.catalog.tables import products
from origin.settings import Settings
from origin.tenancy.actions import do_issue_api_token
from tests.factories import make_product, make_tenant
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.webhooks import WebhookSender
from tests.faults.conftest import serving
from tests.faults.test_change_log import zelly
from tests.faults.harness import BlackHoleProxy, RedisServer
from tests.shopify_harness import _QuartTransportClient, connect_through_fake, running_queues
from workers import queues as queue_names

HOME_TEMPLATE = '{% extends "base.html" %}{% block content %}<h1 class="changed">{{ version }}</h1>{% endblock %}'
PAGES = ("/", "/collections/all", "/products/linen-shirt")
# One Redis timeout (0.5 s) at most per request, then the breaker answers at once.
PAGE_DEADLINE_SECONDS = 2.0


async def make_store(services):
    tenant = await make_tenant(services, slug="acme", name="Acme")
    shirt = await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
    token = (await do_issue_api_token(services, tenant.id)).token
    await connect_through_fake(services, tenant.id, shop_domain="acme.myshopify.com", access_token="shpat_acme", webhook_secret="whsec_acme")
    return tenant, token, shirt.variants[0].id


def shopify(client) -> WebhookSender:
    return WebhookSender(_QuartTransportClient(client), "/webhooks/shopify", shop_domain="acme.myshopify.com", secret="whsec_acme")


async def get(client, path: str):
    started = time.monotonic()
    response = await client.get(path, headers={"Host": "acme.localhost"})
    return response.status_code, await response.get_data(as_text=True), time.monotonic() - started


async def put_home_template(client, token: str, marker: str):
    source = HOME_TEMPLATE.replace("{{ version }}", marker)
    response = await client.put(
        "/api/v1/theme/templates/home.html", json={"source": source}, headers={"Host": "localhost", "Authorization": f"Bearer {token}"}
    )
    return response.status_code


async def home_shows(client, marker: str, within: float) -> float | None:
    """Seconds until the home page shows ``marker``, or None if it did not within ``within``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        status, body, _ = await get(client, "/")
        if status == 200 and f'<h1 class="changed">{marker}</h1>' in body:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    return None


async def post_events(client):
    response = await client.post(
        "/events", json={"name": "page_view", "url": "https://acme.localhost/"}, headers={"Host": "acme.localhost", "User-Agent": "Mozilla/5.0 Firefox/140.0"}
    )
    return response.status_code, response.headers.get("Retry-After"), await response.get_json()


async def test_a_stopped_redis_serves_pages_from_the_database_and_a_restart_shows_writes(base_settings: Settings, redis_server: RedisServer):
    settings = base_settings.replace(redis_url=redis_server.url)
    async with serving(settings) as (services, client):
        _, token, variant_id = await make_store(services)
        assert await put_home_template(client, token, "before") == 200
        assert await home_shows(client, "before", within=5) is not None
        for path in PAGES:
            assert (await get(client, path))[0] == 200  # warm: cached in Redis and this process

        redis_server.stop()
        during = [await get(client, path) for path in PAGES * 3]
        events = await post_events(client)
        webhook = await shopify(client).send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
        # Carts live in the database: a shopper keeps shopping.
        added = await client.post("/cart/add", form={"variant_id": str(variant_id), "quantity": "2"}, headers={"Host": "acme.localhost"})
        cart = await get(client, "/cart")
        written_during_outage = await put_home_template(client, token, "during")
        health = await create_internal_app(settings, services=services).test_client().get("/healthz")

        redis_server.start()  # empty: everything Redis held is gone
        seen_after = await home_shows(client, "during", within=5)
        assert await put_home_template(client, token, "after") == 200
        seen_later = await home_shows(client, "after", within=5)
        after = [await get(client, path) for path in PAGES]

    assert [status for status, _, _ in during] == [200] * len(during)
    assert max(elapsed for _, _, elapsed in during) < PAGE_DEADLINE_SECONDS
    assert events[0] == 503 and events[1] == "5" and events[2]["error"]["code"] == "analytics_unavailable"
    assert webhook.status_code == 503 and webhook.headers["Retry-After"] == "5"
    assert (await webhook.get_json())["error"]["code"] == "shopify_unavailable"
    assert added.status_code == 303 and cart[0] == 200 and "Linen Shirt" in cart[1]
    assert written_during_outage == 200  # the database took it; the caches hear of it once Redis is back
    assert health.status_code == 503 and (await health.get_json())["stores"]["cache"]["status"] == "down"
    assert seen_after is not None and seen_later is not None
    assert [status for status, _, _ in after] == [200] * len(after)


async def test_a_black_holed_redis_never_hangs_a_request_and_writes_show_once_it_answers(
    base_settings: Settings, proxy: BlackHoleProxy
):
    settings = base_settings.replace(redis_url=proxy.url)
    async with serving(settings) as (services, client):
        _, token, _ = await make_store(services)
        for path in PAGES:
            assert (await get(client, path))[0] == 200

        proxy.black_hole()
        during = [await get(client, path) for path in PAGES * 3]
        started = time.monotonic()
        events = await post_events(client)
        webhook = await shopify(client).send("products/create", rest_product(FakeCatalog().add_product(title="Mug")))
        intake_seconds = time.monotonic() - started
        written_during_outage = await put_home_template(client, token, "during")

        proxy.resume()
        seen_after = await home_shows(client, "during", within=5)

    assert [status for status, _, _ in during] == [200] * len(during)
    assert max(elapsed for _, _, elapsed in during) < PAGE_DEADLINE_SECONDS
    assert events[0] == 503 and events[1] == "5"
    assert webhook.status_code == 503 and webhook.headers["Retry-After"] == "5"
    assert intake_seconds < 2 * PAGE_DEADLINE_SECONDS
    assert written_during_outage == 200
    assert seen_after is not None


async def test_webhooks_accepted_before_an_outage_are_processed_exactly_once(base_settings: Settings, proxy: BlackHoleProxy):
    settings = base_settings.replace(redis_url=proxy.url)
    catalog = FakeCatalog()
    accepted = [catalog.add_product(title=f"Product {index}") for index in range(5)]
    async with serving(settings) as (services, client):
        tenant, _, _ = await make_store(services)
        async with running_queues(services) as queues:
            proxy.black_hole()  # the workers' reads stall too: what was accepted waits in the stream
            sender = shopify(client)
            proxy.resume()
            answers = [await sender.send("products/create", rest_product(product), webhook_id=f"wh-{index}")
                       for index, product in enumerate(accepted)]
            proxy.black_hole()
            refused = await sender.send("products/create", rest_product(catalog.add_product(title="Refused")), webhook_id="wh-refused")
            await asyncio.sleep(1.5)
            proxy.resume()
            retried = await sender.send("products/create", rest_product(catalog.add_product(title="Retried")), webhook_id="wh-refused")
            await queues.drain()
            stream = queue_names.stream_key(queue_names.SHOPIFY_WEBHOOK)
            groups = await services.redis.xinfo_groups(stream)
            left = await services.redis.xlen(stream)
        async with services.db.connect() as conn:
            titles = sorted((await conn.execute(sa.select(products.c.title).where(
                products.c.tenant_id == tenant.id, products.c.shopify_gid.is_not(None)))).scalars())

    assert [answer.status_code for answer in answers] == [200] * 5
    assert refused.status_code == 503 and retried.status_code == 200
    assert titles == sorted([f"Product {index}" for index in range(5)] + ["Retried"])
    assert [int(group["entries-read"]) for group in groups] == [6]  # each delivered once, none twice
    assert left == 0  # acknowledged and deleted: the stream holds only unfinished work


async def test_intake_answers_503_past_the_backlog_bound_and_nothing_accepted_is_trimmed(base_settings: Settings, redis_server: RedisServer):
    settings = base_settings.replace(redis_url=redis_server.url, task_backlog_limit=3)
    from workers.dispatch import open_task_queue

    async with serving(settings) as (services, client):
        await make_store(services)
        async with open_task_queue(settings, services, queue_names=(queue_names.SHOPIFY_WEBHOOK,)):
            sender = shopify(client)
            answers = [(await sender.send("products/create", rest_product(FakeCatalog().add_product(title=f"P{index}")))).status_code
                       for index in range(5)]
            stream = queue_names.stream_key(queue_names.SHOPIFY_WEBHOOK)
            kept = await services.redis.xlen(stream)
            health = await (await create_internal_app(settings, services=services).test_client().get("/healthz")).get_json()

    assert answers == [200, 200, 200, 503, 503]
    assert kept == 3
    assert health["queues"][queue_names.SHOPIFY_WEBHOOK]["entries"] == 3
    assert health["queues"][queue_names.SHOPIFY_WEBHOOK]["full"] is True


async def test_zelly_queues_shows_each_backlog_and_says_full_past_the_bound(base_settings: Settings, redis_server: RedisServer):
    """The operator's view of item 4: entries, pending and age per stream, and which intake is refusing."""
    settings = base_settings.replace(redis_url=redis_server.url, task_backlog_limit=3)
    from workers.dispatch import open_task_queue

    async with serving(settings) as (services, client):
        await make_store(services)
        async with open_task_queue(settings, services, queue_names=(queue_names.SHOPIFY_WEBHOOK,)):
            sender = shopify(client)
            for index in range(4):
                await sender.send("products/create", rest_product(FakeCatalog().add_product(title=f"P{index}")))
            shown = await asyncio.to_thread(
                zelly, settings, "queues", "--json", extra_env={"ZELLY_REDIS_URL": redis_server.url, "ZELLY_TASK_BACKLOG_LIMIT": "3"}
            )
            table = await asyncio.to_thread(
                zelly, settings, "queues", extra_env={"ZELLY_REDIS_URL": redis_server.url, "ZELLY_TASK_BACKLOG_LIMIT": "3"}
            )

    assert shown.returncode == 0, shown.stderr
    backlogs = json.loads(shown.stdout)
    webhooks = backlogs[queue_names.SHOPIFY_WEBHOOK]
    assert webhooks["entries"] == 3 and webhooks["full"] is True and webhooks["oldest_age_seconds"] >= 0
    assert backlogs["store-events (analytics)"] == {"entries": 0, "pending": 0, "oldest_age_seconds": 0.0, "full": False}
    assert table.returncode == 0
    assert any(line.startswith(queue_names.SHOPIFY_WEBHOOK) and line.endswith("FULL: intake answers 503") for line in table.stdout.splitlines())

"""`zelly stack`: the production topology as processes on MariaDB + Redis (issue 19, item 1).

One run, in the order a shopper and a merchant meet it: pages over HTTPS
through Caddy and the edge, a signed Shopify webhook applied by its worker, a
beacon event that the store-events consumer writes to chDB, an order placed
through the checkout; then an origin SIGKILLed while shoppers keep browsing
(Caddy's pool retries the other, no request fails), and one Ctrl-C that stops
every process, in order, exit 0, nothing left behind.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa

from origin.catalog.tables import products, variants
from origin.orders.tables import orders
from origin.services import open_services
from origin.tenancy.queries import select_tenant_by_slug
from tests.conftest import REDIS_URL, require_server
from tests.fakes.shopify.catalog import FakeCatalog, rest_product
from tests.fakes.shopify.webhooks import WebhookSender
from tests.shopify_harness import connect_through_fake
from tests.stack.running import PlatformClient, RunningStack, Shopper, alive, descendants
from tests.storefront.conftest import attribute, parse_html, texts

pytestmark = pytest.mark.timeout(900)

ADDRESS = {"email": "ann@example.com", "name": "Ann Buyer", "line1": "1 Main St", "line2": "", "city": "Springfield",
           "region": "IL", "postal_code": "62701", "country": "US"}


@pytest.fixture
async def stack(tmp_path):
    require_server("MariaDB", "127.0.0.1", 3306)
    require_server("Redis", "127.0.0.1", 6379)
    redis_client = aioredis.Redis.from_url(REDIS_URL)
    await redis_client.flushdb()
    running = RunningStack(tmp_path, REDIS_URL)
    try:
        await asyncio.to_thread(running.start)
        yield running
    finally:
        await asyncio.to_thread(running.stop)
        await asyncio.to_thread(running.drop_databases)
        await redis_client.flushdb()
        await redis_client.aclose()


async def _poll(probe, *, seconds: float, interval: float = 0.3):
    deadline = time.monotonic() + seconds
    while True:
        value = await probe()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)


async def test_a_purchase_journey_through_the_stack_survives_an_origin_killed_mid_load(stack: RunningStack) -> None:
    async with open_services(stack.settings, with_analytics=False) as services:
        async with services.db.connect() as conn:
            acme = await select_tenant_by_slug(conn, "acme")
            variant = (await conn.execute(
                sa.select(variants.c.id).where(variants.c.tenant_id == acme.id, variants.c.inventory_quantity > 0)
                .order_by(variants.c.id).limit(1))).scalar_one()
        connection_secret = f"whsec_{uuid.uuid4().hex}"
        await connect_through_fake(services, acme.id, shop_domain="acme-demo.myshopify.com", access_token="shpat_demo",
                                   webhook_secret=connection_secret)
        shopper = Shopper(stack, "acme.localhost")
        platform = PlatformClient(stack)

        # Browse over HTTPS: Caddy -> edge -> Caddy's pool -> an origin.
        home = await shopper.get("/")
        again = await shopper.get("/")
        # A Shopify-style webhook, signed with the connection's secret, applied by the webhook worker.
        product = FakeCatalog().add_product(title="Stack Journey Mug")
        sender = WebhookSender(platform, "/webhooks/shopify", shop_domain="acme-demo.myshopify.com", secret=connection_secret)
        webhook = await sender.send("products/create", rest_product(product))

        async def applied_handle():
            async with services.db.connect() as conn:
                return (await conn.execute(sa.select(products.c.handle).where(
                    products.c.tenant_id == acme.id, products.c.shopify_gid == product["id"]))).scalar_one_or_none()

        handle = await _poll(applied_handle, seconds=60)
        product_page = await shopper.get(f"/products/{handle}")
        # A beacon event, for the consumer to write to chDB.
        event_id = f"stack-{uuid.uuid4().hex}"
        beacon = await shopper.post("/events", json={"name": "page_view", "url": "https://acme.localhost/", "referrer": "",
                                                     "event_id": event_id})
        # An order through the checkout, manual payment.
        added = await shopper.post("/cart/add", data={"variant_id": str(variant), "quantity": "1"})
        details = await shopper.form("/checkout/details", ADDRESS)
        rate = attribute(parse_html((await shopper.get("/checkout")).text), ".//input[@name='shipping_rate_id']", "value")
        shipping = await shopper.form("/checkout/shipping", {"shipping_rate_id": rate})
        reserved = await shopper.form("/checkout/reserve", {})
        key = attribute(parse_html(reserved.text), ".//input[@name='idempotency_key']", "value")
        paid = await shopper.form("/checkout/pay", {"idempotency_key": key, "payment_provider": "manual"})
        order_page = await shopper.get(paid.headers["location"])
        async with services.db.connect() as conn:
            placed = (await conn.execute(sa.select(orders.c.number, orders.c.financial_status).where(orders.c.tenant_id == acme.id))).all()

        # Shoppers keep browsing (pages the edge has not cached, so each reaches an origin) while origin a is SIGKILLed.
        outcomes: list[tuple[float, str, int | str]] = []  # (seconds since the load began, path, status or error)
        load_started = time.monotonic()
        keep_going = asyncio.Event()
        keep_going.set()

        async def browse(worker: int) -> None:
            browser = Shopper(stack, "acme.localhost")
            try:
                for number in itertools.count():
                    if not keep_going.is_set():
                        return
                    path = f"/search?q=mug{worker}x{number}" if number % 2 else "/cart"
                    try:
                        outcome: int | str = (await browser.get(path)).status_code
                    except Exception as error:  # a failed request is the outcome under test, recorded, not raised
                        outcome = f"{type(error).__name__}: {error}"
                    outcomes.append((round(time.monotonic() - load_started, 2), path, outcome))
            finally:
                await browser.client.aclose()

        browsers = [asyncio.create_task(browse(worker)) for worker in range(4)]
        await asyncio.sleep(3)
        before_kill = len(outcomes)
        killed = stack.pid_of("origin a")
        killed_at = round(time.monotonic() - load_started, 2)
        os.kill(killed, signal.SIGKILL)
        await asyncio.sleep(6)
        after_kill = len(outcomes) - before_kill
        # A store's first certificate after the kill: Caddy's ask goes through the internal pool to origin b.
        nordic = Shopper(stack, "nordic.localhost")
        first_nordic = await nordic.get("/")
        keep_going.clear()
        await asyncio.gather(*browsers)
        for client in (shopper.client, platform.client, nordic.client):
            await client.aclose()

    redis_client = aioredis.Redis.from_url(REDIS_URL)
    try:
        drained = await _poll(lambda: _stream_drained(redis_client, "store-events"), seconds=30)
    finally:
        await redis_client.aclose()
    processes = descendants(stack.process.pid)
    exit_code = await asyncio.to_thread(stack.interrupt)
    await asyncio.sleep(0.5)  # the kernel reaps a grandchild whose parent just exited
    left_behind = {pid: command for pid, command in processes.items() if alive(pid)}
    stored = events_in_chdb(stack, acme.id)

    assert (home.status_code, again.status_code) == (200, 200)
    assert "Acme Outfitters" in home.text and again.headers["cache-status"].startswith("Zelly; hit")
    assert webhook.status_code == 200 and webhook.json() == {"status": "accepted"}
    assert product_page.status_code == 200 and "Stack Journey Mug" in product_page.text
    assert beacon.status_code == 202
    assert (added.status_code, details.status_code, shipping.status_code, reserved.status_code, paid.status_code) == (303, 303, 303, 200, 303)
    assert order_page.status_code == 200 and texts(parse_html(order_page.text), ".//h1")[0].endswith("#1001")
    assert placed == [("#1001", "pending")]
    assert before_kill > 20 and after_kill > 20, (before_kill, after_kill)
    assert [entry for entry in outcomes if entry[2] != 200] == [], f"origin a killed at {killed_at}s"
    assert not alive(killed)
    assert f"origin a (pid {killed}) exited on its own (killed by SIGKILL)" in stack.text
    assert first_nordic.status_code == 200 and "Nordic" in first_nordic.text
    assert drained
    assert exit_code == 0, stack.text
    assert len(processes) >= 14  # 2 origins, Caddy, the edge, 6 workers, 3 schedulers, the consumer, and their own children
    assert left_behind == {}
    stops = [line.strip() for line in stack.text.splitlines() if line.startswith("stack: stopping")]
    assert [line.split(",")[0] for line in stops] == [
        "stack: stopping caddy", "stack: stopping edge", "stack: stopping origin a", "stack: stopping scheduler shopify_catalog_sync",
        "stack: stopping worker shopify_webhook", "stack: stopping store-events consumer"]
    assert "Traceback" not in stack.text
    # The beacon's page view and the events the cart and checkout emitted, each once, in ClickHouse (chDB).
    assert stored == [("add_to_cart", "cart"), ("checkout_started", "checkout"), ("page_view", f"b:{event_id}"), ("purchase", "purchase")]


async def _stream_drained(redis_client, stream: str) -> bool:
    return await redis_client.exists(stream) == 1 and await redis_client.xlen(stream) == 0


CHDB_EVENTS = """
import json, sys, clickhouse_connect
client = clickhouse_connect.get_client(dsn="chdb://" + sys.argv[1])
rows = client.query("SELECT name, event_id FROM events FINAL WHERE tenant_id = {tenant:UInt64} ORDER BY name",
                    parameters={"tenant": int(sys.argv[2])}).result_rows
print(json.dumps(rows))
"""


def events_in_chdb(stack: RunningStack, tenant_id: int) -> list[tuple[str, str]]:
    """(name, event id up to its first ':') of a tenant's events in the stack's chDB, read after the stack stopped.

    In a child process: chDB lets one process open a path, once.
    """
    result = subprocess.run([sys.executable, "-c", CHDB_EVENTS, str((stack.data_dir / "analytics").resolve()), str(tenant_id)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [(name, event_id if event_id.startswith("b:") else event_id.split(":")[0]) for name, event_id in json.loads(result.stdout)]

"""Shared test wiring for tests/shopify and tests/workers: the fake Shopify, tenants, queues.

``queues`` gives the embedded backend in-memory brokers and the servers
backend real Redis streams consumed by in-process receivers (the same
ReclaimingStreamBroker a ``taskiq worker`` runs); ``drain()`` waits until
every queue is empty, every message acknowledged and no retry is pending.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import sqlalchemy as sa
from taskiq.api import run_receiver_task

from origin.catalog.tables import products, variants
from origin.services import Services
from tests.stream_drain import stop_stream_workers, wait_for_streams_drained
from origin.shopify.connections import do_connect
from origin.tenancy.actions import do_create_tenant, do_issue_api_token
from tests.fakes.shopify import FakeShopify, WebhookSender, make_catalog, serve_fake
from workers import queues as queue_names
from workers.brokers import make_broker
from workers.dispatch import REGISTRARS, open_task_queue
from workers.retry import RetryPolicy
from tests.conftest import swap_in_place

FAST_RETRIES = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2, jitter=0.0)
SHOPIFY_QUEUES = (
    queue_names.SHOPIFY_WEBHOOK, queue_names.SHOPIFY_CATALOG_SYNC, queue_names.SHOPIFY_SETTINGS_PUSH, queue_names.SHOPIFY_SETTINGS_FETCH,
)


@dataclass
class Shop:
    tenant_id: int
    api_token: str
    domain: str
    token: str
    secret: str


async def make_shop(services: Services, fake: FakeShopify, slug: str, catalog=None, **plan) -> tuple[Shop, object]:
    tenant = await do_create_tenant(services, slug=slug, name=slug.title(), currency="USD")
    issued = await do_issue_api_token(services, tenant.id)
    domain, token, secret = f"{slug}.myshopify.com", f"shpat_{slug}_token", f"whsec_{slug}_secret"
    fake_shop = fake.add_shop(domain, token, catalog if catalog is not None else make_catalog(0), **plan)
    await do_connect(services, tenant.id, shop_domain=domain, access_token=token, webhook_secret=secret)  # asks the fake who owns the token
    # The connect's ownership query is not what the tests of a shop count: start them from a fresh bucket and log.
    fake_shop.requests.clear()
    fake_shop.bucket.available = fake_shop.bucket.size
    return Shop(tenant.id, issued.token, domain, token, secret), fake_shop


@contextlib.asynccontextmanager
async def running_fake(services: Services):
    fake = FakeShopify()
    async with serve_fake(fake) as base_url:
        swap_in_place(services, settings=services.settings.replace(shopify_api_base_url=base_url))
        yield fake


async def connect_through_fake(services: Services, tenant_id: int, *, shop_domain: str, access_token: str, webhook_secret: str):
    """``do_connect`` for tests that need a connection, not a shop: a fake Admin API answers its ownership check."""
    async with running_fake(services) as fake:
        fake.add_shop(shop_domain, access_token, make_catalog(0))
        return await do_connect(services, tenant_id, shop_domain=shop_domain, access_token=access_token, webhook_secret=webhook_secret)


class Queues:
    def __init__(self, services: Services, task_queue, worker_brokers) -> None:
        self.services = services
        self.task_queue = task_queue
        self.worker_brokers = worker_brokers

    async def drain(self, timeout_s: float = 30.0) -> None:
        if self.services.redis is None:
            await self.task_queue.wait_all()
            return
        await wait_for_streams_drained(self.services.redis, SHOPIFY_QUEUES, what="queues", timeout_s=timeout_s)


@contextlib.asynccontextmanager
async def running_queues(services: Services, retry_policy: RetryPolicy = FAST_RETRIES):
    async with open_task_queue(services.settings, services, queue_names=SHOPIFY_QUEUES, retry_policy=retry_policy) as task_queue:
        workers, receivers = [], []
        if services.redis is not None:
            for queue in SHOPIFY_QUEUES:
                broker = make_broker(services.settings, queue, retry_policy=retry_policy, reclaim_interval_s=0.5)
                REGISTRARS[queue](broker)
                broker.is_worker_process = True
                broker.state.services = services
                await broker.startup()
                workers.append(broker)
                receivers.append(asyncio.create_task(run_receiver_task(broker, max_async_tasks=8)))
        try:
            yield Queues(services, task_queue, workers)
        finally:
            await stop_stream_workers(workers, receivers)


def webhook_sender(client, shop: Shop) -> WebhookSender:
    """A sender that posts into the Quart test client (the same bytes and headers Shopify sends)."""
    return WebhookSender(_QuartTransportClient(client), "/webhooks/shopify", shop_domain=shop.domain, secret=shop.secret)


class _QuartTransportClient:
    def __init__(self, client) -> None:
        self.client = client

    async def post(self, url: str, *, content: bytes, headers: dict):
        return await self.client.post(url, data=content, headers=headers)


async def catalog_rows(services: Services, tenant_id: int) -> dict[str, dict]:
    """gid -> {title, updated, variants: sorted variant gids} of the tenant's synced products."""
    async with services.db.connect() as conn:
        rows = (await conn.execute(sa.select(products).where(products.c.tenant_id == tenant_id))).all()
        variant_rows = (await conn.execute(sa.select(variants.c.product_id, variants.c.shopify_gid).where(variants.c.tenant_id == tenant_id))).all()
    by_product: dict[int, list[str]] = {}
    for row in variant_rows:
        by_product.setdefault(row.product_id, []).append(row.shopify_gid)
    return {row.shopify_gid: {"title": row.title, "variants": sorted(by_product.get(row.id, []))} for row in rows}


def fake_rows(catalog) -> dict[str, dict]:
    return {
        gid: {"title": product["title"], "variants": sorted(variant["id"] for variant in product["variants"])}
        for gid, product in catalog.products.items()
    }

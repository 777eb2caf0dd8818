"""The edge wrapped around the real origin app in one process (zelly dev), on both backends.

The origin's own invalidation (origin.invalidation.publish_purge after a
write) must reach the edge through Services.broadcast: memory pub/sub on the
embedded backend, Redis pub/sub on the servers backend.
"""

from __future__ import annotations

import asyncio

import httpx

from edge.app import wrap_origin
from edge.config import EdgeConfig
from edge.tags import product_tag
from origin.app import create_app
from origin.catalog.actions import do_update_variant
from origin.catalog.inputs import NewVariant
from tests.edge.servers import serve_on_loopback
from tests.factories import make_product, make_tenant


async def test_the_wrapped_origin_serves_through_the_edge_and_purges_reach_it(services) -> None:
    tenant = await make_tenant(services, slug="acme")
    product = await make_product(services, tenant.id, handle="hat", title="Felt Hat", variants=[NewVariant(price="10.00")], option_names=[])
    origin_app = create_app(services.settings, services=services)
    edge_app = wrap_origin(origin_app, EdgeConfig(internal_token="t"), services.broadcast)

    async with serve_on_loopback(edge_app) as url:
        await asyncio.wait_for(edge_app.subscribed.wait(), 5)
        async with httpx.AsyncClient(base_url=url) as client:
            health = await client.get("/healthz", headers={"host": "acme.localhost"})
            first = await client.get("/products/hat", headers={"host": "acme.localhost"})
            cached = await client.get("/products/hat", headers={"host": "acme.localhost"})

            await do_update_variant(services, tenant.id, product.variants[0].id, {"price": "12.00"})
            for _ in range(300):
                if len(edge_app.store) == 0:
                    break
                await asyncio.sleep(0.01)
            after = await client.get("/products/hat", headers={"host": "acme.localhost"})

    assert health.status_code == 200
    assert health.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; detail=no-store"
    assert health.json()["status"] == "ok"
    assert first.status_code == cached.status_code == 200
    assert first.text == cached.text
    assert "$10.00" in first.text and "$12.00" not in first.text
    assert cached.headers["cache-status"].startswith("Zelly; hit")
    assert "$12.00" in after.text and "$10.00" not in after.text
    assert after.headers["cache-status"].startswith("Zelly; fwd=uri-miss; fwd-status=200; stored")
    assert product_tag(tenant.id, product.id) in after.headers["cache-tag"].split(",")

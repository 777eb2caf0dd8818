"""The edge wrapped around the real origin app in one process (zelly dev), on both backends.

The origin's own invalidation (origin.invalidation.publish_purge after a
write) must reach the edge through Services.broadcast: memory pub/sub on the
embedded backend, Redis pub/sub on the servers backend.
"""

from __future__ import annotations

import asyncio

import httpx
from quart import Response

from edge.app import wrap_origin
from edge.config import EdgeConfig
from edge.tags import product_tag, tenant_tag
from origin.app import create_app
from origin.invalidation import publish_purge
from tests.edge.servers import serve_on_loopback


async def test_the_wrapped_origin_serves_through_the_edge_and_purges_reach_it(services) -> None:
    origin_app = create_app(services.settings, services=services)
    prices = {"hat": "10.00"}

    @origin_app.get("/products/<handle>")
    async def product(handle: str):
        response = Response(f"{handle}: {prices[handle]}", content_type="text/plain")
        response.headers["Cache-Control"] = "public, s-maxage=300, stale-while-revalidate=60"
        response.headers["Cache-Tag"] = f"{tenant_tag(1)},{product_tag(1, 5)}"
        return response

    edge_app = wrap_origin(origin_app, EdgeConfig(internal_token="t"), services.broadcast)
    async with serve_on_loopback(edge_app) as url:
        await asyncio.wait_for(edge_app.subscribed.wait(), 5)
        async with httpx.AsyncClient(base_url=url) as client:
            health = await client.get("/healthz", headers={"host": "acme.localhost"})
            first = await client.get("/products/hat", headers={"host": "acme.localhost"})
            cached = await client.get("/products/hat", headers={"host": "acme.localhost"})

            prices["hat"] = "12.00"
            await publish_purge(services, 1, [product_tag(1, 5)])
            for _ in range(300):
                if len(edge_app.store) == 0:
                    break
                await asyncio.sleep(0.01)
            after = await client.get("/products/hat", headers={"host": "acme.localhost"})

    assert health.status_code == 200
    assert health.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; detail=no-store"
    assert health.json()["status"] == "ok"
    assert first.text == cached.text == "hat: 10.00"
    assert cached.headers["cache-status"].startswith("Zelly; hit")
    assert after.text == "hat: 12.00"
    assert after.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=300"

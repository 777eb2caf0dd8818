"""Write-to-visible: from a price write committing to the new price served through the edge.

    python bench/edge_write_visible.py [--writes 20] [--mode embedded|redis|both]

The origin is the real origin app (create_app, real Services) with a product
route that reads the price from the shared cache and sends the storefront's
cache headers (``public, s-maxage=300, stale-while-revalidate=60`` and its
Cache-Tag). A write sets the new price, then calls the origin's own
``publish_purge`` (what every catalog write does after commit). The clock
runs from the write until a shopper polling the edge every 5 ms sees the
new price.

- embedded: the edge wraps the origin in one process (``zelly dev``), memory pub/sub;
- redis:    ``zelly edge`` as its own process (granian) in front of the origin
            served on loopback, purges over Redis pub/sub (db 3 unless
            ZELLY_BENCH_REDIS_URL says otherwise), Redis tier on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from quart import Response  # noqa: E402

from edge.app import wrap_origin  # noqa: E402
from edge.config import EdgeConfig  # noqa: E402
from bench.edge_processes import zelly_edge  # noqa: E402
from edge.tags import PURGE_CHANNEL, cache_tag_header, product_tag, tenant_tag  # noqa: E402
from origin.app import create_app  # noqa: E402
from origin.cache import TEXT  # noqa: E402
from origin.invalidation import publish_purge  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.settings import Settings  # noqa: E402
from tests.edge.servers import serve_on_loopback  # noqa: E402

REDIS_URL = os.environ.get("ZELLY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
HOST = "acme.localhost"


def product_origin(settings, services):
    app = create_app(settings, services=services)

    @app.get("/products/<handle>")
    async def product(handle: str):
        price = await services.cache.get(f"t1:bench-price:{handle}", TEXT) or "10.00"
        response = Response(f"<p class=price>{price}</p>", content_type="text/html")
        response.headers["Cache-Control"] = "public, max-age=0, s-maxage=300, stale-while-revalidate=60"
        response.headers["Cache-Tag"] = cache_tag_header([tenant_tag(1), product_tag(1, 5)])
        return response

    return app


async def measure(client: httpx.AsyncClient, services, writes: int) -> list[float]:
    samples = []
    for number in range(writes):
        await client.get("/products/hat", headers={"host": HOST})  # the old price is cached
        new_price = f"{20 + number}.00"
        started = time.perf_counter()
        await services.cache.set("t1:bench-price:hat", new_price, TEXT)
        await publish_purge(services, 1, [product_tag(1, 5)])
        while True:
            response = await client.get("/products/hat", headers={"host": HOST})
            if new_price in response.text:
                break
            await asyncio.sleep(0.005)
        samples.append(time.perf_counter() - started)
    return samples


async def embedded(writes: int) -> list[float]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir))
        async with open_services(settings, with_analytics=False) as services:
            edge_app = wrap_origin(product_origin(settings, services), EdgeConfig(), services.broadcast)
            async with serve_on_loopback(edge_app) as url:
                async with httpx.AsyncClient(base_url=url) as client:
                    return await measure(client, services, writes)


async def separate_edge(writes: int) -> list[float]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), redis_url=REDIS_URL)
        async with open_services(settings, with_analytics=False) as services:
            await services.redis.flushdb()
            try:
                async with serve_on_loopback(product_origin(settings, services)) as origin_url:
                    async with zelly_edge(origin_url, data_dir, ZELLY_REDIS_URL=REDIS_URL) as edge_url:
                        channel = services.broadcast.channel_name(PURGE_CHANNEL)
                        while await services.redis.pubsub_numsub(channel) != [(channel.encode(), 1)]:
                            await asyncio.sleep(0.05)  # the edge's purge subscriber is listening
                        async with httpx.AsyncClient(base_url=edge_url) as client:
                            return await measure(client, services, writes)
            finally:
                await services.redis.flushdb()


def report(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    print(f"{name:<9} writes {len(ms)}: p50 {statistics.median(ms):.1f} ms, max {ms[-1]:.1f} ms, min {ms[0]:.1f} ms", flush=True)


async def main(writes: int, mode: str) -> None:
    print("write-to-visible through the edge (write + publish_purge -> new price served)")
    if mode in ("embedded", "both"):
        report("embedded", await embedded(writes))
    if mode in ("redis", "both"):
        report("redis", await separate_edge(writes))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--mode", choices=("embedded", "redis", "both"), default="both")
    args = parser.parse_args()
    asyncio.run(main(args.writes, args.mode))

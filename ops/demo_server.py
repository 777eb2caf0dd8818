"""The demo stores served by the real origin on a loopback port, for tools that drive a browser.

The Lighthouse test (tests/storefront/test_lighthouse.py) and the screenshot script
(ops/screenshots.py) both need what a shopper would get from `make dev`: the three
demo tenants seeded by `zelly seed --demo`, served by hypercorn, at URLs whose
absolute links (canonical, og:url, sitemap) point back at the same port. Embedded
stores in a directory of the caller's, so nothing touches a developer's var/.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

from hypercorn.asyncio import serve

from ops.seed import DEMO_TENANTS, DemoTenant, seed_demo
from ops.serve import hypercorn_config
from origin.app import create_app
from origin.services import Services, open_services
from origin.settings import Settings
from origin.tables import metadata


@dataclass(frozen=True)
class DemoStores:
    port: int
    services: Services
    tenants: tuple[DemoTenant, ...] = DEMO_TENANTS

    def base_url(self, slug: str) -> str:
        return f"http://{slug}.{self.services.settings.platform_domain}:{self.port}"


def free_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_for_port(port: int, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


@contextlib.asynccontextmanager
async def serve_demo_stores(data_dir: Path, *, echo: Callable[[str], None] = lambda _: None) -> AsyncIterator[DemoStores]:
    """Seed the demo tenants into fresh embedded stores under ``data_dir`` and serve them over HTTP."""
    port = free_loopback_port()
    # Shoppers reach the stores at http://<slug>.localhost:<port>: absolute URLs in the pages say so too.
    settings = Settings(
        data_dir=data_dir, secret_key="demo-server-secret-key-0123456789", internal_token="demo-server-internal-token",
        public_scheme="http", http_port=port, origin_bind=f"127.0.0.1:{port}",
    )
    async with open_services(settings, with_analytics=False) as services:
        async with services.db.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await seed_demo(services, echo=echo)
        app = create_app(settings, services=services)
        stop = asyncio.Event()
        server = asyncio.create_task(serve(app, hypercorn_config(settings.origin_bind), shutdown_trigger=stop.wait))
        try:
            await wait_for_port(port)
            yield DemoStores(port=port, services=services)
        finally:
            stop.set()
            await server

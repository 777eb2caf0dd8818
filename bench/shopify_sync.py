"""Full catalog sync from the fake Shopify Admin API, against the cost-based throttle's bound.

    python bench/shopify_sync.py [--products 10000] [--restore-rate 2000] [--bucket 0] [--servers]

The throttle's bound is the least time any client could take: every point the
sync's requests actually cost beyond the initial bucket has to be restored at
the plan's rate, so  bound = (sum of actual costs - bucket size) / restore rate.
Efficiency = bound / measured (the issue's target: at least 80 %). The fake is
the one the tests use (tests/fakes/shopify), on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from origin import db, tables  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.settings import Settings  # noqa: E402
from origin.shopify import sync  # noqa: E402
from origin.shopify.connections import do_connect  # noqa: E402
from origin.db import utcnow  # noqa: E402
from origin.shopify.tables import shopify_sync_runs  # noqa: E402
from origin.tenancy.actions import do_create_tenant  # noqa: E402
from tests.fakes.shopify import FakeShopify, make_catalog, serve_fake  # noqa: E402

MYSQL_URL = os.environ.get("ZELLY_BENCH_MYSQL_URL", "mysql+aiomysql://root@127.0.0.1:3306/")


async def prepared_settings(data_dir: Path, servers: bool) -> tuple[Settings, str | None]:
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-0123456789")
    prefix = None
    if servers:
        prefix = f"zb{uuid.uuid4().hex[:6]}_"
        await db.create_mysql_databases(MYSQL_URL, prefix)
        settings = settings.replace(database_url=MYSQL_URL, database_schema_prefix=prefix)
    engine = db.create_engine(settings.effective_database_url, settings.database_schema_prefix)
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    await engine.dispose()
    return settings, prefix


async def bench(products: int, restore_rate: float, bucket: float, servers: bool, kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings, prefix = await prepared_settings(Path(tmp), servers)
        fake = FakeShopify()
        catalog = make_catalog(products, variants=3, images=2, collections=10)
        shop = fake.add_shop("bench.myshopify.com", "shpat_bench_token", catalog, restore_rate=restore_rate, bucket_size=bucket or None)
        try:
            async with serve_fake(fake) as base_url, open_services(settings.replace(shopify_api_base_url=base_url), with_analytics=False) as services:
                tenant = await do_create_tenant(services, slug="bench", name="Bench", currency="USD")
                await do_connect(services, tenant.id, shop_domain=shop.domain, access_token=shop.token, webhook_secret="whsec_bench_secret")
                async with services.db.begin() as conn:
                    result = await conn.execute(shopify_sync_runs.insert().values(tenant_id=tenant.id, kind=kind, state="queued", created_at=utcnow(), updated_at=utcnow()))
                run_id = int(result.inserted_primary_key[0])
                started = time.perf_counter()
                run = await sync.run_catalog_sync(services, tenant.id, run_id)
                elapsed = time.perf_counter() - started
        finally:
            if prefix:
                await db.drop_mysql_databases(MYSQL_URL, prefix)
    actual = sum(entry.get("actual") or 0 for entry in shop.requests)
    bound = max(0.0, (actual - shop.bucket.size) / restore_rate)
    print(f"kind={kind} products={products} variants=3 images=2 store={'mysql' if servers else 'sqlite'}")
    print(f"plan: restore {restore_rate:.0f} points/s, bucket {shop.bucket.size:.0f}")
    print(f"run: {run.state}, {run.products_written} products written, {run.collections_seen} collections")
    print(f"requests: {len(shop.requests)} ({shop.throttled} throttled), actual cost {actual} points")
    print(f"time: {elapsed:.1f} s   throttle bound: {bound:.1f} s   efficiency: {bound / elapsed * 100 if elapsed else 0:.0f} %")
    print(f"rate: {products / elapsed:.0f} products/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--restore-rate", type=float, default=2000.0, help="points/s: standard 100, advanced 200, plus 1000, enterprise 2000")
    parser.add_argument("--bucket", type=float, default=0, help="bucket size (default: 20 s of restore)")
    parser.add_argument("--servers", action="store_true", help="MariaDB on 127.0.0.1:3306 instead of SQLite")
    parser.add_argument("--kind", choices=("full", "bulk"), default="full")
    args = parser.parse_args()
    asyncio.run(bench(args.products, args.restore_rate, args.bucket, args.servers, args.kind))


if __name__ == "__main__":
    main()

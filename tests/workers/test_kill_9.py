"""kill -9 of real `taskiq worker` processes mid-sync and mid-webhook-batch, then restart (issue 6).

Real MariaDB, real Redis streams, the worker deployments exactly as the README
runs them, the fake Shopify served from this test process. After the restart
every task completes, the catalog equals the shop's, nothing is duplicated.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from origin.app import create_app
from origin.catalog.tables import products
from origin.shopify.tables import shopify_webhook_deliveries
from origin.tasks.tables import task_dead_letters
from origin.shopify.runs import do_start_sync, get_run
from tests.conftest import count_rows
from tests.fakes.shopify import make_catalog
from tests.fakes.shopify.catalog import rest_product
from tests.shopify_harness import SHOPIFY_QUEUES, Queues, catalog_rows, fake_rows, make_shop, running_fake, webhook_sender
from workers.dispatch import open_task_queue

ROOT = Path(__file__).resolve().parents[2]
WEBHOOKS = 300


@pytest.fixture
def backend() -> str:
    return "servers"  # this test is about Redis streams and separate processes


def _start_worker(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", f"workers.{module}:broker", "--workers", "1", "--max-async-tasks", "16"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _kill_9(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)  # the taskiq supervisor and its worker child, like a lost machine
    process.wait(timeout=10)


async def _until(predicate, timeout_s: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def _processed(services) -> int:
    async with services.db.connect() as conn:
        query = sa.select(sa.func.count()).where(shopify_webhook_deliveries.c.processed_at.is_not(None))
        return (await conn.execute(query)).scalar_one()


async def test_kill_9_mid_sync_and_mid_webhook_batch_then_restart(services, settings, tmp_path):
    async with running_fake(services) as fake:
        shop, fake_shop = await make_shop(services, fake, "acme", make_catalog(150), bucket_size=1000, restore_rate=400)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ZELLY_")},
            "ZELLY_DATABASE_URL": settings.database_url, "ZELLY_DATABASE_SCHEMA_PREFIX": settings.database_schema_prefix,
            "ZELLY_REDIS_URL": settings.redis_url, "ZELLY_SECRET_KEY": settings.secret_key.reveal(),
            "ZELLY_SHOPIFY_API_BASE_URL": services.settings.shopify_api_base_url, "ZELLY_DATA_DIR": str(tmp_path / "worker"),
            "ZELLY_TASK_RECLAIM_IDLE_SECONDS": "2", "ZELLY_LOG_LEVEL": "WARNING",
        }
        logs = tmp_path / "workers.log"
        workers = {name: _start_worker(name, env, logs) for name in ("shopify_catalog_sync", "shopify_webhook")}
        async with open_task_queue(services.settings, services, queue_names=SHOPIFY_QUEUES) as task_queue:
            try:
                # 1. kill -9 in the middle of a full sync
                run = await do_start_sync(services, shop.tenant_id, "full")

                async def sync_halfway() -> bool:
                    current = await get_run(services, shop.tenant_id, run.id)
                    return current.products_seen >= 30

                await _until(sync_halfway, 60, "the sync to get going")
                _kill_9(workers["shopify_catalog_sync"])
                at_kill = await get_run(services, shop.tenant_id, run.id)

                # 2. kill -9 in the middle of a webhook batch (newer versions of every product)
                client = create_app(services.settings, services=services).test_client()
                sender = webhook_sender(client, shop)
                later = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
                gids = list(fake_shop.catalog.products)
                bodies = [
                    rest_product(fake_shop.catalog.touch(gids[index % len(gids)], later + dt.timedelta(seconds=index), title=f"Webhook {index}"))
                    for index in range(WEBHOOKS)
                ]
                sending = asyncio.create_task(_send_all(sender, bodies))

                async def some_processed() -> bool:
                    return await _processed(services) >= 40

                await _until(some_processed, 60, "webhooks to be processed")
                _kill_9(workers["shopify_webhook"])
                processed_at_kill = await _processed(services)
                accepted = await sending

                # 3. restart both deployments: the stream hands the orphaned messages to the new workers
                workers = {name: _start_worker(name, env, logs) for name in workers}
                await Queues(services, task_queue, []).drain(timeout_s=120)

                async def sync_done() -> bool:
                    return (await get_run(services, shop.tenant_id, run.id)).state in ("succeeded", "failed")

                await _until(sync_done, 60, "the sync to finish")
                final = await get_run(services, shop.tenant_id, run.id)

                # 4. SIGTERM stops a worker within seconds (socket_timeout=None, short blocking reads)
                for process in workers.values():
                    os.killpg(process.pid, signal.SIGTERM)
                exit_codes = [process.wait(timeout=15) for process in workers.values()]
            finally:
                for process in workers.values():
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait(timeout=10)

    assert (at_kill.state, 30 <= at_kill.products_seen < 150) == ("running", True)
    assert 40 <= processed_at_kill < WEBHOOKS
    assert accepted == ["accepted"] * WEBHOOKS
    assert (final.state, final.error) == ("succeeded", None)
    assert await _processed(services) == WEBHOOKS
    assert await catalog_rows(services, shop.tenant_id) == fake_rows(fake_shop.catalog)
    async with services.db.connect() as conn:
        assert await count_rows(conn, products, tenant_id=shop.tenant_id) == 150
        assert await count_rows(conn, shopify_webhook_deliveries) == WEBHOOKS
        assert await count_rows(conn, task_dead_letters) == 0
    assert exit_codes == [0, 0], logs.read_text()[-3000:]


async def _send_all(sender, bodies: list[dict]) -> list[str]:
    statuses = []
    for body in bodies:
        response = await sender.send("products/update", body)
        statuses.append((await response.get_json())["status"])
        await asyncio.sleep(0.002)  # a steady stream, so the kill lands mid-batch
    return statuses

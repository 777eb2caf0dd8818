"""zelly shopify connect|sync and zelly deadletters list|replay, as an operator runs them (embedded stores)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from origin.db import utcnow
from origin.tasks.tables import task_dead_letters
from origin.services import open_services
from origin.settings import Settings
from tests.fakes.shopify import FakeShopify, make_catalog, serve_fake
from tests.test_cli import zelly_env

SECRET = "cli-secret-key-0123456789abcdef"


async def zelly(tmp_path: Path, *args: str, **extra: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.cli", *args, cwd=tmp_path, env=zelly_env(tmp_path, ZELLY_SECRET_KEY=SECRET, **extra),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, stdout.decode(), stderr.decode()


async def test_connect_sync_with_progress_then_dead_letter_replay(tmp_path):
    fake = FakeShopify()
    shop = fake.add_shop("acme.myshopify.com", "shpat_cli_token", make_catalog(20), restore_rate=20000)
    async with serve_fake(fake) as base_url:
        assert (await zelly(tmp_path, "migrate"))[0] == 0
        assert (await zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme"))[0] == 0

        bad = await zelly(tmp_path, "shopify", "connect", "acme", "--shop", "acme.example.com", "--token", "shpat_cli_token", "--webhook-secret", "whsec_cli_secret")
        connected = await zelly(tmp_path, "shopify", "connect", "acme", "--shop", "acme.myshopify.com", "--token", "shpat_cli_token", "--webhook-secret", "whsec_cli_secret", ZELLY_SHOPIFY_API_BASE_URL=base_url)
        synced = await zelly(tmp_path, "shopify", "sync", "acme", ZELLY_SHOPIFY_API_BASE_URL=base_url)

        settings = Settings(data_dir=tmp_path / "var", secret_key=SECRET)
        async with open_services(settings, with_analytics=False) as services:
            async with services.db.begin() as conn:
                await conn.execute(task_dead_letters.insert().values(
                    tenant_id=1, queue="SHOPIFY_SETTINGS_PUSH", task_name="shopify.push_settings",
                    payload={"args": [], "kwargs": {"tenant_id": 1}}, error="ShopifyUnavailable: HTTP 503", attempts=6, created_at=utcnow(),
                ))
        listed = await zelly(tmp_path, "deadletters", "list")
        replayed = await zelly(tmp_path, "deadletters", "replay", "1", ZELLY_SHOPIFY_API_BASE_URL=base_url)
        unknown = await zelly(tmp_path, "deadletters", "replay", "99")
        after = await zelly(tmp_path, "deadletters", "list")

    assert (bad[0], bad[2].strip()) == (1, "zelly: shop must be the store's <name>.myshopify.com domain (lower-case letters, digits, hyphens)")
    assert connected == (0, "acme: connected to acme.myshopify.com\n", "")
    assert synced[0] == 0, synced[2]
    last = synced[1].rstrip().splitlines()[-1].split("\r")[-1]
    assert last.startswith("[" + "#" * 30 + "] succeeded")
    assert "products      20 seen      20 written     0 deleted  collections     2" in last
    assert "shopify.push_settings" in listed[1] and "HTTP 503" in listed[1]
    assert replayed[:2] == (0, "replayed dead letter 1 (shopify.push_settings) on SHOPIFY_SETTINGS_PUSH\n")
    assert shop.catalog.shop["metafields"]["name"] == "Acme"
    assert (unknown[0], unknown[2].strip()) == (1, "zelly: no dead letter 99")
    assert "shopify.push_settings" not in after[1]


async def test_sync_against_an_unreachable_shopify_exits_non_zero_with_one_line_and_the_next_sync_starts(tmp_path):
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{probe.getsockname()[1]}"
    fake = FakeShopify()
    fake.add_shop("acme.myshopify.com", "shpat_cli_token", make_catalog(3), restore_rate=20000)
    async with serve_fake(fake) as base_url:
        assert (await zelly(tmp_path, "migrate"))[0] == 0
        assert (await zelly(tmp_path, "tenant", "create", "--slug", "acme", "--name", "Acme"))[0] == 0
        assert (await zelly(tmp_path, "shopify", "connect", "acme", "--shop", "acme.myshopify.com", "--token", "shpat_cli_token", "--webhook-secret", "whsec_cli_secret", ZELLY_SHOPIFY_API_BASE_URL=base_url))[0] == 0

        started = time.monotonic()
        failed = await zelly(tmp_path, "shopify", "sync", "acme", ZELLY_SHOPIFY_API_BASE_URL=unreachable)
        elapsed = time.monotonic() - started
        cancel_finished = await zelly(tmp_path, "shopify", "cancel", "acme", "1")
        following = await zelly(tmp_path, "shopify", "sync", "acme", ZELLY_SHOPIFY_API_BASE_URL=base_url)

    assert failed[0] == 1
    assert failed[2].splitlines() == [
        "zelly: sync 1 failed: Shopify did not answer after 4 attempts (ConnectError: All connection attempts failed) (gave up after 2 attempts)"
    ]
    assert "Traceback" not in failed[1] + failed[2]
    assert elapsed < 30
    assert (cancel_finished[0], cancel_finished[2].strip()) == (1, "zelly: sync run 1 already ended (failed)")
    assert following[0] == 0, following[2]

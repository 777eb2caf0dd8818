"""Without Redis, a write made by another process reaches the running server within a second or two (issue 12, item 8).

The server is the public app with its listeners running (as in ``zelly dev``);
the other process is the real ``zelly`` CLI in a subprocess (suspend, domain
removal) or a second set of Services with its own memory cache and change-log
writer (a theme and a catalog change), on the embedded SQLite files and on
MariaDB alone.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from origin.broadcast import change_log
from origin.catalog.actions import do_update_product
from origin.db import utcnow
from origin.services import open_services
from origin.settings import Settings
from origin.tenancy.tables import domains
from origin.tenancy.themes import do_put_theme_template
from tests.conftest import MYSQL_URL
from tests.factories import make_product, make_tenant
from tests.faults.conftest import serving

ROOT = Path(__file__).resolve().parents[2]
VISIBLE_WITHIN_SECONDS = 2.0
HOME_TEMPLATE = '{% extends "base.html" %}{% block content %}<h1 class="changed">from elsewhere</h1>{% endblock %}'


def zelly(settings: Settings, *args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZELLY_")}
    env.update(
        PYTHONPATH=str(ROOT), ZELLY_DATA_DIR=str(settings.data_dir), ZELLY_SECRET_KEY=settings.secret_key.reveal(),
        ZELLY_INTERNAL_TOKEN=settings.internal_token.reveal(),
    )
    if not settings.uses_embedded_database:
        env.update(ZELLY_DATABASE_URL=MYSQL_URL, ZELLY_DATABASE_SCHEMA_PREFIX=settings.database_schema_prefix)
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], env=env, capture_output=True, text=True, timeout=120)


async def seconds_until(client, host: str, path: str, wanted, within: float = 10.0) -> float | None:
    """Seconds until ``GET path`` on ``host`` satisfies ``wanted(status, body)``, None if not within ``within``."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        response = await client.get(path, headers={"Host": host})
        if wanted(response.status_code, await response.get_data(as_text=True)):
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def add_active_domain(services, tenant_id: int, hostname: str) -> None:
    async with services.db.begin() as conn:
        await conn.execute(domains.insert().values(
            tenant_id=tenant_id, hostname=hostname, status="active", verification_token="token-" + hostname,
            is_primary=False, verified_at=utcnow(),
        ))


async def test_a_suspension_by_the_cli_is_a_503_at_once_and_resuming_serves_again(base_settings: Settings):
    async with serving(base_settings) as (services, client):
        await make_tenant(services, slug="acme", name="Acme")
        warm = await client.get("/", headers={"Host": "acme.localhost"})

        suspended = await asyncio.to_thread(zelly, base_settings, "tenant", "suspend", "acme")
        suspended_after = await seconds_until(client, "acme.localhost", "/", lambda status, _: status == 503)
        resumed = await asyncio.to_thread(zelly, base_settings, "tenant", "resume", "acme")
        resumed_after = await seconds_until(client, "acme.localhost", "/", lambda status, _: status == 200)

    assert warm.status_code == 200
    assert suspended.returncode == 0, suspended.stderr
    assert suspended_after is not None and suspended_after < VISIBLE_WITHIN_SECONDS
    assert resumed.returncode == 0, resumed.stderr
    assert resumed_after is not None and resumed_after < VISIBLE_WITHIN_SECONDS


async def test_a_domain_removed_by_the_cli_answers_410_at_once(base_settings: Settings):
    async with serving(base_settings) as (services, client):
        tenant = await make_tenant(services, slug="acme", name="Acme")
        await add_active_domain(services, tenant.id, "shop.example.test")
        served = await client.get("/", headers={"Host": "shop.example.test"})

        removed = await asyncio.to_thread(zelly, base_settings, "domain", "remove", "acme", "shop.example.test")
        gone_after = await seconds_until(client, "shop.example.test", "/", lambda status, _: status == 410)
        platform_host = await client.get("/", headers={"Host": "acme.localhost"})

    assert served.status_code == 200
    assert removed.returncode == 0, removed.stderr
    assert gone_after is not None and gone_after < VISIBLE_WITHIN_SECONDS
    assert platform_host.status_code == 200  # the store itself still serves


async def test_a_theme_and_a_catalog_change_by_another_process_show_at_once_and_other_stores_keep_their_pages(base_settings: Settings):
    async with serving(base_settings) as (services, client):
        acme = await make_tenant(services, slug="acme", name="Acme")
        other = await make_tenant(services, slug="other", name="Other")
        shirt = await make_product(services, acme.id, title="Linen Shirt", handle="linen-shirt")
        await make_product(services, other.id, title="Wool Hat", handle="wool-hat")
        before = await client.get("/", headers={"Host": "acme.localhost"})
        other_before = await client.get("/products/wool-hat", headers={"Host": "other.localhost"})
        other_version = await services.catalog_versions.get(other.id)

        async with open_services(base_settings, with_analytics=False) as elsewhere:
            await do_put_theme_template(elsewhere, acme.id, "home.html", HOME_TEMPLATE)
            theme_after = await seconds_until(client, "acme.localhost", "/", lambda status, body: "from elsewhere" in body)
            await do_update_product(elsewhere, acme.id, shirt.id, {"title": "Hemp Shirt"})
            product_after = await seconds_until(client, "acme.localhost", "/products/linen-shirt", lambda status, body: "Hemp Shirt" in body)
        other_after = await client.get("/products/wool-hat", headers={"Host": "other.localhost"})
        other_version_after = await services.catalog_versions.get(other.id)
        async with services.db.connect() as conn:
            logged = (await conn.execute(sa.select(change_log.c.channel))).scalars().all()

    assert before.status_code == 200 and "from elsewhere" not in await before.get_data(as_text=True)
    assert theme_after is not None and theme_after < VISIBLE_WITHIN_SECONDS
    assert product_after is not None and product_after < VISIBLE_WITHIN_SECONDS
    assert other_before.status_code == other_after.status_code == 200
    assert other_version_after == other_version  # tenants stay apart
    assert "zelly:tenancy" in logged

"""MariaDB connections KILLed: the pool recovers, a request caught mid-statement is a clear 503 (issue 12, item 11).

``KILL`` from a second session is what a MariaDB restart, a failover or a
``wait_timeout`` looks like to the pool. Only the connections this test's app
opened are killed (found by their ids, or by the test's private database names
in the statement), never another session's on the shared server. MariaDB only:
the embedded SQLite has no connections to kill.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from origin.catalog.tables import products
from origin.settings import Settings
from origin.tenancy.actions import do_issue_api_token
from tests.conftest import MYSQL_URL
from tests.factories import make_product, make_tenant
from tests.faults.conftest import serving


@pytest.fixture
def database() -> str:
    return "mysql"


def api(token: str) -> dict[str, str]:
    return {"Host": "localhost", "Authorization": f"Bearer {token}"}


async def pooled_connection_ids(services, count: int) -> list[int]:
    """Check out ``count`` connections at once and name them: the pool keeps them for the next requests."""
    connections = [await services.db.connect() for _ in range(count)]
    try:
        return [(await conn.execute(sa.text("SELECT CONNECTION_ID()"))).scalar_one() for conn in connections]
    finally:
        for conn in connections:
            await conn.close()


async def test_killed_idle_connections_are_replaced_and_pages_keep_answering(base_settings: Settings):
    """Connections idle past PING_WHEN_IDLE_S are pinged at checkout and replaced when dead (a restart takes longer)."""
    from origin.db.engine import PING_WHEN_IDLE_S

    killer = create_async_engine(MYSQL_URL, poolclass=NullPool)
    try:
        async with serving(base_settings) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
            token = (await do_issue_api_token(services, tenant.id)).token
            ids = await pooled_connection_ids(services, 4)
            async with killer.connect() as conn:
                for connection_id in ids:
                    await conn.exec_driver_sql(f"KILL {int(connection_id)}")
            await asyncio.sleep(PING_WHEN_IDLE_S * 1.5)

            pages = [(await client.get(path, headers={"Host": "acme.localhost"})).status_code for path in ("/products/linen-shirt", "/search?q=shirt", "/")]
            listing = await client.get("/api/v1/products", headers=api(token))
            ids_after = await pooled_connection_ids(services, 4)
    finally:
        await killer.dispose()

    assert pages == [200, 200, 200]
    assert listing.status_code == 200 and [p["title"] for p in (await listing.get_json())["items"]] == ["Linen Shirt"]
    assert not set(ids) & set(ids_after)  # every killed connection was replaced, none reused


async def test_a_connection_killed_right_after_use_costs_one_503_and_the_pool_is_replaced(base_settings: Settings):
    """The price of not pinging busy connections: killed within PING_WHEN_IDLE_S of its last use, the next request
    on it fails cleanly (503, nothing written) and takes every pooled connection with it; the next one answers."""
    killer = create_async_engine(MYSQL_URL, poolclass=NullPool)
    try:
        async with serving(base_settings) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
            token = (await do_issue_api_token(services, tenant.id)).token
            async with killer.connect() as conn:  # connected beforehand: the KILL follows the last use at once
                ids = await pooled_connection_ids(services, 1)
                await conn.exec_driver_sql(f"KILL {int(ids[0])}")
                caught = await client.get("/api/v1/products", headers=api(token))
            after = await client.get("/api/v1/products", headers=api(token))
            ids_after = await pooled_connection_ids(services, 1)
    finally:
        await killer.dispose()

    assert caught.status_code == 503 and (await caught.get_json())["error"]["code"] == "database_unavailable"
    assert after.status_code == 200 and [p["title"] for p in (await after.get_json())["items"]] == ["Linen Shirt"]
    assert ids_after != ids


async def test_a_write_whose_connection_is_killed_mid_statement_is_a_503_and_its_retry_writes_once(base_settings: Settings):
    killer = create_async_engine(MYSQL_URL, poolclass=NullPool)
    primary = f"{base_settings.database_schema_prefix}astro_primary"
    try:
        async with serving(base_settings) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            shirt = await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
            token = (await do_issue_api_token(services, tenant.id)).token
            async with killer.connect() as holder, killer.connect() as conn:
                # A second session holds the product's row: the PATCH waits on it (its SELECT … FOR UPDATE), in flight.
                await holder.exec_driver_sql("BEGIN")
                await holder.exec_driver_sql(f"SELECT id FROM `{primary}`.products WHERE id = {int(shirt.id)} FOR UPDATE")
                patch = asyncio.create_task(client.patch(f"/api/v1/products/{shirt.id}", json={"title": "Hemp Shirt"}, headers=api(token)))
                waiting: list[int] = []
                for _ in range(200):
                    waiting = (await conn.exec_driver_sql(
                        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s AND ID <> CONNECTION_ID()",
                        (f"%{primary}.products%",)  # the app's statement; the holder's names `{primary}`,
                    )).scalars().all()
                    if waiting:
                        break
                    await asyncio.sleep(0.05)
                for connection_id in waiting:
                    await conn.exec_driver_sql(f"KILL {int(connection_id)}")
                killed = await asyncio.wait_for(patch, 30)
                await holder.exec_driver_sql("ROLLBACK")

            retried = await client.patch(f"/api/v1/products/{shirt.id}", json={"title": "Hemp Shirt"}, headers=api(token))
            page = await client.get("/products/linen-shirt", headers={"Host": "acme.localhost"})
            async with services.db.connect() as db_conn:
                titles = (await db_conn.execute(sa.select(products.c.title).where(products.c.tenant_id == tenant.id))).scalars().all()
    finally:
        await killer.dispose()

    assert len(waiting) == 1
    assert killed.status_code == 503
    assert killed.headers["Retry-After"] == "5"
    assert (await killed.get_json())["error"]["code"] == "database_unavailable"
    assert retried.status_code == 200 and (await retried.get_json())["title"] == "Hemp Shirt"
    assert page.status_code == 200 and "Hemp Shirt" in await page.get_data(as_text=True)
    assert titles == ["Hemp Shirt"]


async def test_a_database_that_refuses_connections_is_a_503_and_serving_resumes_when_it_is_back(base_settings: Settings):
    """MariaDB unreachable for a moment (a restart, a failover): the loopback proxy in front of it stops listening."""
    from sqlalchemy.engine import make_url

    from tests.faults.harness import BlackHoleProxy

    server = make_url(MYSQL_URL)
    proxy = BlackHoleProxy(server.port or 3306)
    await proxy.start()
    settings = base_settings.replace(database_url=str(server.set(host="127.0.0.1", port=proxy.port)))
    try:
        async with serving(settings) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
            token = (await do_issue_api_token(services, tenant.id)).token
            before = await client.get("/api/v1/products", headers=api(token))
            await services.db.dispose()  # the pool's connections went with the server
            await proxy.close()  # refused from now on

            during = await client.get("/api/v1/products", headers=api(token))
            page = await client.get("/search?q=linen", headers={"Host": "acme.localhost"})

            restarted = BlackHoleProxy(proxy.target_port)
            await restarted.start(proxy.port)
            try:
                after = await client.get("/api/v1/products", headers=api(token))
            finally:
                await restarted.close()
    finally:
        await proxy.close()

    assert before.status_code == 200
    assert during.status_code == 503 and during.headers["Retry-After"] == "5"
    assert (await during.get_json())["error"]["code"] == "database_unavailable"
    # A page never rendered before needs the database: the same clear 503 (the edge serves its stale copy), never a 500.
    assert page.status_code == 503 and page.headers["Retry-After"] == "5" and page.headers["Cache-Control"] == "no-store"
    assert after.status_code == 200 and [p["title"] for p in (await after.get_json())["items"]] == ["Linen Shirt"]


async def test_a_database_that_accepts_and_never_answers_is_a_bounded_503_and_serving_resumes(base_settings: Settings):
    """MariaDB black-holed (accepts, never answers: a wedged server, a partition): no request waits past the read bound.

    aiomysql itself has no read timeout; without origin.db.engine.BoundedReadConnection the
    pre-ping of the pooled connection waits forever and so does the request.
    """
    from sqlalchemy.engine import make_url

    from tests.faults.harness import BlackHoleProxy

    server = make_url(MYSQL_URL)
    proxy = BlackHoleProxy(server.port or 3306)
    await proxy.start()
    settings = base_settings.replace(
        database_url=str(server.set(host="127.0.0.1", port=proxy.port)), database_read_timeout_ms=1000
    )
    try:
        async with serving(settings) as (services, client):
            tenant = await make_tenant(services, slug="acme", name="Acme")
            shirt = await make_product(services, tenant.id, title="Linen Shirt", handle="linen-shirt")
            token = (await do_issue_api_token(services, tenant.id)).token
            before = await client.get("/api/v1/products", headers=api(token))
            proxy.black_hole()  # pooled connections stall, new ones are accepted and never greeted

            # The outer bound only keeps a regression from hanging the suite; it is far above the read bound.
            async with asyncio.timeout(30):
                during = await client.get("/api/v1/products", headers=api(token))
                page = await client.get("/search?q=linen", headers={"Host": "acme.localhost"})
                write = await client.patch(f"/api/v1/products/{shirt.id}", json={"title": "Hemp Shirt"}, headers=api(token))

            proxy.resume()
            after = await client.get("/api/v1/products", headers=api(token))
    finally:
        await proxy.close()

    assert before.status_code == 200
    assert during.status_code == 503 and during.headers["Retry-After"] == "5"
    assert (await during.get_json())["error"]["code"] == "database_unavailable"
    assert page.status_code == 503 and page.headers["Cache-Control"] == "no-store"
    assert write.status_code == 503
    # Nothing of the cut write stayed, and the pool serves again without a restart.
    assert after.status_code == 200 and [p["title"] for p in (await after.get_json())["items"]] == ["Linen Shirt"]


async def test_the_read_bound_is_lifted_for_migrations_and_put_back(base_settings: Settings):
    from origin import db
    from origin.db.engine import BoundedReadConnection

    engine = db.create_engine(base_settings.database_url, base_settings.database_schema_prefix, read_timeout_s=0.5)
    try:
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            async with db.unbounded_reads(conn):
                during = raw.read_timeout
                slept = (await conn.exec_driver_sql("SELECT SLEEP(1)")).scalar_one()
            after = raw.read_timeout
    finally:
        await engine.dispose()

    assert isinstance(raw, BoundedReadConnection)
    assert (during, slept, after) == (None, 0, 0.5)

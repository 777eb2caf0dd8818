"""One after-commit collector (origin.invalidation.AfterCommit): effects go out after the commit, never on a rollback.

Observed where the rest of the platform observes them: the purge and tenancy
channels of the real broadcast (Redis on "servers", the in-process hub embedded),
the tenant's catalog version, and the task queue (none is wired here, so an
enqueue that is flushed fails loudly, and one that is discarded does not).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from edge import tags as cache_tags
from origin.catalog import actions as catalog
from origin.catalog.errors import CatalogError
from origin.catalog.tables import products
from origin.invalidation import TENANCY_CHANNEL, catalog_version, transaction
from origin.tasks.errors import TaskError
from origin.tenancy import actions as tenancy
from tests.factories import make_product, make_tenant

SENTINEL = "sentinel"


@contextlib.asynccontextmanager
async def listening(services, channel: str):
    """Every message published on ``channel`` while inside, read once the block ends (a sentinel closes it)."""
    received: list[str] = []
    async with services.broadcast.subscribe(channel) as messages:
        yield received
        await services.broadcast.publish(channel, SENTINEL)
        async with asyncio.timeout(5):
            async for message in messages:
                if message == SENTINEL:
                    break
                received.append(message)


async def test_a_rolled_back_transaction_sends_none_of_its_effects(services) -> None:
    tenant = await make_tenant(services)
    version = await catalog_version(services, tenant.id)

    async with listening(services, cache_tags.PURGE_CHANNEL) as purges, listening(services, TENANCY_CHANNEL) as changes:
        with pytest.raises(RuntimeError, match="after the effects were asked for"):
            async with transaction(services) as (conn, effects):
                await conn.execute(products.insert().values(tenant_id=tenant.id, handle="ghost", title="Ghost"))
                effects.purge(tenant.id, cache_tags.tenant_tag(tenant.id))
                effects.tenant_changed(tenant.id)
                effects.publish(TENANCY_CHANNEL, json.dumps({"tenant_id": tenant.id}))
                effects.enqueue("SHOPIFY_SYNC", "shopify.sync", tenant_id=tenant.id)  # would raise TaskError if sent
                raise RuntimeError("the write failed after the effects were asked for")

    assert (purges, changes) == ([], [])
    assert await catalog_version(services, tenant.id) == version
    async with services.db.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(products))).scalar_one() == 0


async def test_a_failing_action_publishes_nothing(services) -> None:
    tenant = await make_tenant(services)
    first = await make_product(services, tenant.id)
    second = await make_product(services, tenant.id)
    version = await catalog_version(services, tenant.id)

    async with listening(services, cache_tags.PURGE_CHANNEL) as purges:
        with pytest.raises(CatalogError) as raised:
            await catalog.do_update_product(services, tenant.id, second.id, {"handle": first.handle})

    assert raised.value.code == "duplicate_handle"
    assert purges == []
    assert await catalog_version(services, tenant.id) == version


async def test_an_action_publishes_its_effects_after_the_commit(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    product = await make_product(services, tenant.id)
    version = await catalog_version(services, tenant.id)
    other_version = await catalog_version(services, other.id)

    async with listening(services, cache_tags.PURGE_CHANNEL) as purges:
        await catalog.do_update_variant(services, tenant.id, product.variants[0].id, {"price": Decimal("11.00")})

    assert purges == [cache_tags.purge_message(tags=[cache_tags.product_tag(tenant.id, product.id)])]
    assert await catalog_version(services, tenant.id) == version + 1
    assert await catalog_version(services, other.id) == other_version


async def test_a_tenant_change_goes_out_once_committed(services) -> None:
    tenant = await make_tenant(services)

    async with listening(services, TENANCY_CHANNEL) as changes, listening(services, cache_tags.PURGE_CHANNEL) as purges:
        await tenancy.do_suspend_tenant(services, tenant.id)

    assert [json.loads(message) for message in changes] == [{"tenant_id": tenant.id}]
    assert purges == [cache_tags.purge_message(tags=[cache_tags.tenant_tag(tenant.id)])]


async def test_effects_run_after_the_commit_in_the_order_asked(services) -> None:
    tenant = await make_tenant(services)
    seen: list[tuple[str, int]] = []

    async def count_rows_from_another_connection() -> None:
        # Runs during the flush: a second connection sees the row only if the commit came first.
        async with services.db.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(products).where(products.c.tenant_id == tenant.id))).scalar_one()
        seen.append(("rows", count))

    async with listening(services, cache_tags.PURGE_CHANNEL) as purges:
        async with transaction(services) as (conn, effects):
            await conn.execute(products.insert().values(tenant_id=tenant.id, handle="mug", title="Mug"))
            effects.call(count_rows_from_another_connection)
            effects.purge(tenant.id, "t-a", "t-b")
            effects.purge(tenant.id, "t-b", "t-c", hosts=("shop.example",))  # one tenant: one message
            effects.call(lambda: seen.append(("last", 0)))

    assert seen == [("rows", 1), ("last", 0)]
    assert purges == [cache_tags.purge_message(tags=["t-a", "t-b", "t-c"], hosts=["shop.example"])]


async def test_a_task_is_enqueued_only_after_the_commit(services) -> None:
    tenant = await make_tenant(services)

    with pytest.raises(TaskError) as raised:  # no task queue in this process: the flush reaches origin.queueing
        async with transaction(services) as (conn, effects):
            await conn.execute(products.insert().values(tenant_id=tenant.id, handle="mug", title="Mug"))
            effects.enqueue("SHOPIFY_SYNC", "shopify.sync", tenant_id=tenant.id)

    assert raised.value.code == "queue_unavailable"
    async with services.db.connect() as conn:  # the commit happened before the enqueue was tried
        assert (await conn.execute(sa.select(sa.func.count()).select_from(products))).scalar_one() == 1

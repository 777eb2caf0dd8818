"""origin.orders.actions: the order upsert Shopify processing calls (checkout will be the second writer)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from origin.orders.actions import upsert_external_order
from origin.orders.models import ExternalOrder
from origin.orders.tables import orders
from tests.factories import make_tenant

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


def an_order(**overrides) -> ExternalOrder:
    values = dict(
        gid="gid://shopify/Order/1", number="#1001", email="ann@example.com", currency="EUR", total_price=Decimal("19.90"),
        financial_status="paid", fulfillment_status=None, updated_at=T0, payload={"id": 1},
    )
    values.update(overrides)
    return ExternalOrder(**values)


async def _rows(services):
    async with services.db.connect() as conn:
        rows = await conn.execute(
            sa.select(orders.c.tenant_id, orders.c.number, orders.c.total_price, orders.c.financial_status).order_by(orders.c.tenant_id)
        )
        return [tuple(row) for row in rows]


async def test_an_order_is_inserted_then_updated_by_gid(services) -> None:
    tenant = await make_tenant(services)

    async with services.db.begin() as conn:
        first = await upsert_external_order(conn, tenant.id, an_order())
    async with services.db.begin() as conn:
        again = await upsert_external_order(conn, tenant.id, an_order(financial_status="refunded", updated_at=T0 + dt.timedelta(minutes=1)))

    assert first == again
    assert await _rows(services) == [(tenant.id, "#1001", Decimal("19.9000"), "refunded")]


async def test_an_older_version_never_overwrites_a_newer_one(services) -> None:
    tenant = await make_tenant(services)
    async with services.db.begin() as conn:
        await upsert_external_order(conn, tenant.id, an_order(financial_status="refunded", updated_at=T0 + dt.timedelta(minutes=5)))

    async with services.db.begin() as conn:
        stale = await upsert_external_order(conn, tenant.id, an_order(financial_status="pending"))

    assert stale is None
    assert await _rows(services) == [(tenant.id, "#1001", Decimal("19.9000"), "refunded")]


async def test_the_same_gid_in_another_tenant_is_another_order(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)

    async with services.db.begin() as conn:
        mine = await upsert_external_order(conn, tenant.id, an_order())
        theirs = await upsert_external_order(conn, other.id, an_order(total_price=Decimal("5.00")))

    assert mine != theirs
    assert await _rows(services) == [
        (tenant.id, "#1001", Decimal("19.9000"), "paid"),
        (other.id, "#1001", Decimal("5.0000"), "paid"),
    ]

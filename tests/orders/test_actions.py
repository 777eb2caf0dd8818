"""origin.orders.actions: an order described by Shopify, applied inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from origin.invalidation import transaction
from origin.orders.actions import apply_external_order
from origin.orders.models import ExternalOrder, ExternalOrderDetails, ExternalOrderLine
from origin.orders.tables import orders
from tests.factories import make_tenant

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
LINE = ExternalOrderLine(
    gid="gid://shopify/LineItem/7", variant_gid=None, product_gid=None, title="Mug", variant_title="", sku=None,
    quantity=1, unit_price=Decimal("19.90"), discount_amount=Decimal(0), tax_amount=Decimal(0),
)


def an_order(*, is_paid: bool = True, **overrides) -> ExternalOrder:
    values = dict(
        gid="gid://shopify/Order/1", number="#1001", email="ann@example.com", currency="EUR", total_price=Decimal("19.90"),
        financial_status="paid" if is_paid else "pending", fulfillment_status=None, updated_at=T0, payload={"id": 1},
        details=ExternalOrderDetails(lines=(LINE,), is_paid=is_paid),
    )
    values.update(overrides)
    return ExternalOrder(**values)


async def _apply(services, tenant_id: int, order: ExternalOrder) -> int | None:
    async with transaction(services) as (conn, effects):
        return await apply_external_order(conn, effects, services, tenant_id, order)


async def _rows(services):
    async with services.db.connect() as conn:
        rows = await conn.execute(
            sa.select(orders.c.tenant_id, orders.c.number, orders.c.total_price, orders.c.financial_status).order_by(orders.c.tenant_id)
        )
        return [tuple(row) for row in rows]


async def test_an_order_is_inserted_then_reconciled_by_gid(services) -> None:
    tenant = await make_tenant(services)

    first = await _apply(services, tenant.id, an_order(is_paid=False))
    again = await _apply(services, tenant.id, an_order(updated_at=T0 + dt.timedelta(minutes=1)))

    assert first == again
    assert await _rows(services) == [(tenant.id, "#1001", Decimal("19.9000"), "paid")]


async def test_an_older_version_never_overwrites_a_newer_one(services) -> None:
    tenant = await make_tenant(services)
    await _apply(services, tenant.id, an_order(total_price=Decimal("21.00"), updated_at=T0 + dt.timedelta(minutes=5)))

    stale = await _apply(services, tenant.id, an_order(is_paid=False))

    assert stale is None
    assert await _rows(services) == [(tenant.id, "#1001", Decimal("21.0000"), "paid")]


async def test_the_same_gid_in_another_tenant_is_another_order(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)

    mine = await _apply(services, tenant.id, an_order())
    theirs = await _apply(services, other.id, an_order(total_price=Decimal("5.00"), is_paid=False))

    assert mine != theirs
    assert await _rows(services) == [
        (tenant.id, "#1001", Decimal("19.9000"), "paid"),
        (other.id, "#1001", Decimal("5.0000"), "pending"),
    ]

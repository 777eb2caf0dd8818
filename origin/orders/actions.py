"""Order writes. Each runs inside the caller's transaction (``conn``): the caller commits.

Today's only writer is Shopify's ``orders/*`` webhook processing; checkout will
add the second (an order created here, from a cart). No cache holds orders, so
these writes have no after-commit effects yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.db import utcnow
from origin.orders.models import ExternalOrder
from origin.orders.tables import orders


async def upsert_external_order(conn: AsyncConnection, tenant_id: int, order: ExternalOrder) -> int | None:
    """The row by (tenant, GID), order-safe by ``updated_at``; None when the order is older than the row."""
    existing = (
        await conn.execute(
            sa.select(orders.c.id, orders.c.shopify_updated_at)
            .where(orders.c.tenant_id == tenant_id, orders.c.shopify_gid == order.gid)
            .with_for_update()
        )
    ).first()
    if existing is not None and existing.shopify_updated_at and existing.shopify_updated_at > order.updated_at:
        return None
    values = dict(
        number=order.number[:64],
        email=order.email,
        currency=order.currency[:3],
        total_price=order.total_price,
        financial_status=order.financial_status,
        fulfillment_status=order.fulfillment_status,
        shopify_updated_at=order.updated_at,
        payload=order.payload,
        updated_at=utcnow(),
    )
    if existing is None:
        result = await conn.execute(orders.insert().values(tenant_id=tenant_id, shopify_gid=order.gid, created_at=utcnow(), **values))
        return int(result.inserted_primary_key[0])
    await conn.execute(orders.update().where(orders.c.tenant_id == tenant_id, orders.c.id == existing.id).values(**values))
    return existing.id

"""The mandatory compliance webhooks, which act (issue 6):

- customers/data_request: export what Zelly holds on the customer (account,
  addresses, orders) into a compliance record the merchant hands over;
- customers/redact: erase that customer (account, sessions, addresses) and
  strip their personal data from orders (the orders stay, for bookkeeping);
- shop/redact (48 h after uninstall): erase every piece of Shopify data of the
  shop: synced catalog, orders, webhook log, sync runs, the connection itself.

Each writes a ``shopify_compliance_requests`` row saying what it did.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from edge import tags as cache_tags
from origin.catalog.tables import collections, products, shopify_inventory_items, shopify_tombstones
from origin.customers.tables import addresses, customers
from origin.db import utcnow
from origin.invalidation import AfterCommit
from origin.orders.tables import orders
from origin.shopify.tables import shopify_compliance_requests, shopify_connections, shopify_shop_snapshots, shopify_sync_runs, shopify_sync_seen, shopify_webhook_deliveries
from origin.shopify.mapping import bad_payload


def _customer_email(payload: dict) -> str:
    email = (payload.get("customer") or {}).get("email")
    if not isinstance(email, str) or "@" not in email:
        raise bad_payload("compliance payload has no customer.email")
    return email.strip().lower()


async def _record(conn: AsyncConnection, tenant_id: int, topic: str, email: str | None, result: dict) -> None:
    await conn.execute(
        shopify_compliance_requests.insert().values(tenant_id=tenant_id, topic=topic, customer_email=email, result=result, created_at=utcnow())
    )


def _iso(value):
    return value.isoformat() if value else None


async def export_customer_data(conn: AsyncConnection, tenant_id: int, payload: dict) -> dict:
    email = _customer_email(payload)
    export: dict = {"customer": None, "addresses": [], "orders": []}
    customer = (
        await conn.execute(sa.select(customers).where(customers.c.tenant_id == tenant_id, sa.func.lower(customers.c.email) == email))
    ).first()
    if customer is not None:
        export["customer"] = {
            "email": customer.email, "first_name": customer.first_name, "last_name": customer.last_name,
            "accepts_marketing": bool(customer.accepts_marketing), "created_at": _iso(customer.created_at),
        }
        rows = await conn.execute(sa.select(addresses).where(addresses.c.tenant_id == tenant_id, addresses.c.customer_id == customer.id).order_by(addresses.c.id))
        export["addresses"] = [
            {"name": a.name, "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
             "postal_code": a.postal_code, "country_code": a.country_code}
            for a in rows
        ]
    rows = await conn.execute(
        sa.select(orders).where(orders.c.tenant_id == tenant_id, sa.func.lower(orders.c.email) == email).order_by(orders.c.id)
    )
    export["orders"] = [
        {"number": o.number, "currency": o.currency, "total_price": str(o.total_price), "created_at": _iso(o.created_at)} for o in rows
    ]
    data_request_id = (payload.get("data_request") or {}).get("id")
    await _record(conn, tenant_id, "customers/data_request", email, {"data_request_id": str(data_request_id) if data_request_id else None, "export": export})
    return export


async def redact_customer(conn: AsyncConnection, tenant_id: int, payload: dict) -> dict:
    email = _customer_email(payload)
    where_customer = (customers.c.tenant_id == tenant_id, sa.func.lower(customers.c.email) == email)
    customer_ids = [row.id for row in await conn.execute(sa.select(customers.c.id).where(*where_customer))]
    if customer_ids:  # sessions and addresses go with the customer (ON DELETE CASCADE)
        await conn.execute(customers.delete().where(customers.c.tenant_id == tenant_id, customers.c.id.in_(customer_ids)))
    result = await conn.execute(
        orders.update()
        .where(orders.c.tenant_id == tenant_id, sa.func.lower(orders.c.email) == email)
        .values(email=None, customer_id=None, payload=None, updated_at=utcnow())
    )
    summary = {"customers_deleted": len(customer_ids), "orders_redacted": result.rowcount}
    await _record(conn, tenant_id, "customers/redact", email, summary)
    return summary


async def redact_shop(conn: AsyncConnection, tenant_id: int, payload: dict, effects: AfterCommit) -> dict:
    counts = {}
    for name, table in (("products", products), ("collections", collections), ("orders", orders)):
        result = await conn.execute(table.delete().where(table.c.tenant_id == tenant_id, table.c.shopify_gid.is_not(None)))
        counts[name] = result.rowcount
    run_ids = [row.id for row in await conn.execute(sa.select(shopify_sync_runs.c.id).where(shopify_sync_runs.c.tenant_id == tenant_id))]
    if run_ids:
        await conn.execute(shopify_sync_seen.delete().where(shopify_sync_seen.c.run_id.in_(run_ids)))
    for table in (shopify_sync_runs, shopify_tombstones, shopify_inventory_items, shopify_shop_snapshots, shopify_connections):
        await conn.execute(table.delete().where(table.c.tenant_id == tenant_id))
    # The delivery log goes too; the shop/redact delivery itself is re-recorded by the caller's processed stamp.
    await conn.execute(shopify_webhook_deliveries.delete().where(shopify_webhook_deliveries.c.tenant_id == tenant_id))
    await _record(conn, tenant_id, "shop/redact", None, {"deleted": counts})
    effects.purge(tenant_id, cache_tags.tenant_tag(tenant_id))
    return counts


async def upsert_snapshot(conn: AsyncConnection, tenant_id: int, values: dict) -> None:
    exists = (await conn.execute(sa.select(shopify_shop_snapshots.c.tenant_id).where(shopify_shop_snapshots.c.tenant_id == tenant_id))).first()
    if exists:
        await conn.execute(shopify_shop_snapshots.update().where(shopify_shop_snapshots.c.tenant_id == tenant_id).values(**values))
    else:
        await conn.execute(shopify_shop_snapshots.insert().values(tenant_id=tenant_id, **values))

"""Order writes from outside checkout. Each runs inside the caller's transaction (``conn``): the caller commits.

Shopify's ``orders/*`` and ``refunds/create`` webhooks land here (issue 15, item 6).
Every Shopify document is a snapshot of the order, so applying one is a reconciliation:
the order row is created once per (tenant, Shopify GID) with Shopify's name as its
number, then each fact the document states that the row does not yet have is applied
through the same transitions a merchant's request uses (``origin.orders.lifecycle``):
paid, authorized, a fulfillment (by its GID), a refund (by its GID, as the refund's
request key), cancelled. Each transition is conditional, so a replay, a duplicate and
an out-of-order delivery change nothing twice; a document older than the row
(``updated_at``) is skipped whole, since the newer one already said everything it says.

Stock: Shopify owns the stock of what it sells (docs/decisions.md). Its lines are
stored untracked (``is_stock_tracked`` false), so nothing here decrements a variant,
and cancelling or refunding them never restocks: Shopify's own
``inventory_levels/update`` sets the synced quantity, once, as an absolute number.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog.tables import variants
from origin.db import utcnow
from origin.invalidation import AfterCommit
from origin.orders import lifecycle
from origin.orders.models import ExternalOrder, ExternalOrderDetails, ExternalRefund
from origin.orders.records import Order, add_event
from origin.orders.tables import fulfillments, order_lines, orders, payments
from origin.services import Services

SHOPIFY = "shopify"


async def _locked_order_row(conn: AsyncConnection, tenant_id: int, order_gid: str):
    return (
        await conn.execute(
            sa.select(orders.c.id, orders.c.shopify_updated_at).where(orders.c.tenant_id == tenant_id, orders.c.shopify_gid == order_gid).with_for_update()
        )
    ).first()


async def _free_number(conn: AsyncConnection, tenant_id: int, number: str) -> str:
    """Shopify's name (#1001) when no other order of the shop has it; a checkout order may have taken it."""
    taken = (await conn.execute(sa.select(orders.c.id).where(orders.c.tenant_id == tenant_id, orders.c.number == number[:64]))).first()
    return number[:64] if taken is None else f"{number} (Shopify)"[:64]


def _header(order: ExternalOrder, details: ExternalOrderDetails) -> dict:
    return dict(
        email=order.email,
        currency=order.currency[:3],
        total_price=order.total_price,
        subtotal_price=details.subtotal_price,
        shipping_price=details.shipping_price,
        tax_price=details.tax_price,
        discount_price=details.discount_price,
        taxes_included=details.taxes_included,
        shipping_address=details.shipping_address,
        shipping_method=(details.shipping_method or "")[:255] or None,
        discount_code=(details.discount_code or "")[:64] or None,
        shopify_updated_at=order.updated_at,
        payload=order.payload,
        updated_at=utcnow(),
    )


async def _insert_order(conn: AsyncConnection, tenant_id: int, order: ExternalOrder, details: ExternalOrderDetails) -> int:
    now = utcnow()
    result = await conn.execute(
        orders.insert().values(
            tenant_id=tenant_id, shopify_gid=order.gid, number=await _free_number(conn, tenant_id, order.number), source=SHOPIFY,
            payment_provider=SHOPIFY, financial_status="pending", fulfillment_status="unfulfilled", refunded_price=0, created_at=now,
            **_header(order, details),
        )
    )
    order_id = int(result.inserted_primary_key[0])
    # The money is Shopify's to take and give back; this row is what the paid/refund transitions move. No
    # provider reference: (provider, reference) is unique across tenants and nothing settles it by reference.
    await conn.execute(
        payments.insert().values(
            tenant_id=tenant_id, order_id=order_id, provider=SHOPIFY, provider_reference=None, amount=order.total_price,
            currency=order.currency[:3], status="pending", refunded_amount=0, created_at=now, updated_at=now,
        )
    )
    await add_event(conn, tenant_id, order_id, "placed", f"Order {order.number} placed on Shopify ({order.total_price} {order.currency})", {"shopify_gid": order.gid})
    return order_id


async def _variant_ids(conn: AsyncConnection, tenant_id: int, variant_gids: list[str]) -> dict[str, tuple[int, int]]:
    if not variant_gids:
        return {}
    rows = await conn.execute(
        sa.select(variants.c.shopify_gid, variants.c.id, variants.c.product_id).where(variants.c.tenant_id == tenant_id, variants.c.shopify_gid.in_(variant_gids))
    )
    return {row.shopify_gid: (row.id, row.product_id) for row in rows}


async def _add_missing_lines(conn: AsyncConnection, tenant_id: int, order: Order, details: ExternalOrderDetails) -> None:
    known = {line.shopify_gid for line in await _line_gids(conn, tenant_id, order.id)}
    missing = [line for line in details.lines if line.gid not in known]
    if not missing:
        return
    synced = await _variant_ids(conn, tenant_id, sorted({line.variant_gid for line in missing if line.variant_gid}))
    position = len(order.lines)
    rows = []
    for line in missing:
        variant_id, product_id = synced.get(line.variant_gid or "", (None, None))
        total = line.unit_price * line.quantity - line.discount_amount + (Decimal(0) if details.taxes_included else line.tax_amount)
        rows.append({
            "tenant_id": tenant_id, "order_id": order.id, "position": position, "variant_id": variant_id, "product_id": product_id,
            "title": line.title[:255], "variant_title": line.variant_title[:255], "sku": line.sku, "quantity": line.quantity,
            "unit_price": line.unit_price, "discount_amount": line.discount_amount, "tax_amount": line.tax_amount, "total_price": max(total, Decimal(0)),
            "is_stock_tracked": False,  # Shopify took (and gives back) this stock: never counted here
            "fulfilled_quantity": 0, "refunded_quantity": 0, "shopify_gid": line.gid,
        })
        position += 1
    await conn.execute(order_lines.insert(), rows)


async def _line_gids(conn: AsyncConnection, tenant_id: int, order_id: int):
    return (await conn.execute(sa.select(order_lines.c.id, order_lines.c.shopify_gid).where(order_lines.c.tenant_id == tenant_id, order_lines.c.order_id == order_id))).all()


async def _lines_by_gid(conn: AsyncConnection, tenant_id: int, order: Order) -> dict[str, object]:
    gid_of = {row.id: row.shopify_gid for row in await _line_gids(conn, tenant_id, order.id)}
    return {gid_of[line.id]: line for line in order.lines if gid_of.get(line.id)}


async def _ensure_paid(conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, order: Order) -> None:
    pending = [payment for payment in order.payments if payment.provider == SHOPIFY and payment.status == "pending"]
    if pending:
        await lifecycle.mark_payment_paid(conn, effects, services, tenant_id, pending[-1].id, order.id, provider_payment_id=None, message="Paid on Shopify")


async def _apply_refund(conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, order: Order, refund: ExternalRefund) -> bool:
    await _ensure_paid(conn, effects, services, tenant_id, order)  # a refund says the money was taken, whatever came first
    order = await lifecycle.require_order(conn, tenant_id, order.id)
    by_gid = await _lines_by_gid(conn, tenant_id, order)
    chosen = []
    for line_gid, quantity in refund.lines:
        line = by_gid.get(line_gid)
        quantity = min(quantity, line.quantity - line.refunded_quantity) if line is not None else 0
        if quantity > 0:
            chosen.append((line, quantity))
    payment = next((payment for payment in order.payments if payment.provider == SHOPIFY), None)
    recorded = await lifecycle.record_refund(
        conn, effects, services, tenant_id, order.id, payment.id if payment else None, refund.amount, chosen,
        restock=False, provider_reference=refund.gid, request_key=f"shopify:{refund.gid}"[:255],
    )
    return recorded is not None


async def apply_external_order(conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, order: ExternalOrder) -> int | None:
    """Create or reconcile the order Shopify describes; its id, or None when the document is older than the row."""
    details = order.details or ExternalOrderDetails()
    existing = await _locked_order_row(conn, tenant_id, order.gid)
    if existing is not None and existing.shopify_updated_at and existing.shopify_updated_at > order.updated_at:
        return None
    if existing is None:
        try:
            async with conn.begin_nested():
                order_id = await _insert_order(conn, tenant_id, order, details)
        except IntegrityError:  # another delivery of this order inserted it a moment ago: reconcile that row
            existing = await _locked_order_row(conn, tenant_id, order.gid)
            if existing is None:
                raise
            order_id = existing.id
    else:
        order_id = existing.id
    if existing is not None:
        await conn.execute(orders.update().where(orders.c.tenant_id == tenant_id, orders.c.id == order_id).values(source=SHOPIFY, **_header(order, details)))
    current = await lifecycle.require_order(conn, tenant_id, order_id)
    await _add_missing_lines(conn, tenant_id, current, details)
    current = await lifecycle.require_order(conn, tenant_id, order_id)
    if details.is_paid:
        await _ensure_paid(conn, effects, services, tenant_id, current)
    elif details.is_authorized:
        await lifecycle.mark_authorized(conn, tenant_id, order_id, message="Payment authorized on Shopify")
    await _apply_fulfillments(conn, effects, services, tenant_id, order_id, details)
    for refund in details.refunds:
        await _apply_refund(conn, effects, services, tenant_id, await lifecycle.require_order(conn, tenant_id, order_id), refund)
    if details.cancelled_at is not None:
        await lifecycle.cancel_order(conn, effects, tenant_id, await lifecycle.require_order(conn, tenant_id, order_id), restock=False, message="Order cancelled on Shopify")
    return order_id


async def _apply_fulfillments(conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, order_id: int, details: ExternalOrderDetails) -> None:
    order = await lifecycle.require_order(conn, tenant_id, order_id)
    recorded = set(
        (await conn.execute(
            sa.select(fulfillments.c.shopify_gid).where(fulfillments.c.tenant_id == tenant_id, fulfillments.c.order_id == order_id)
        )).scalars()
    )
    for fulfillment in details.fulfillments:
        if fulfillment.gid in recorded:
            continue
        by_gid = await _lines_by_gid(conn, tenant_id, order)
        chosen = []
        for line_gid, quantity in fulfillment.lines:
            line = by_gid.get(line_gid)
            quantity = min(quantity, line.quantity - line.fulfilled_quantity - line.refunded_quantity) if line is not None else 0
            if quantity > 0:
                chosen.append((line, quantity))
        if not chosen:
            continue
        await lifecycle.record_fulfillment(
            conn, effects, services, tenant_id, order_id, chosen, tracking_number=fulfillment.tracking_number,
            tracking_url=fulfillment.tracking_url, carrier=fulfillment.carrier, shopify_gid=fulfillment.gid,
        )
        order = await lifecycle.require_order(conn, tenant_id, order_id)


async def apply_external_refund(conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, refund: ExternalRefund) -> int | None:
    """refunds/create: the refund on its order, once; None when the order is not here yet.

    An order Shopify has not told us about yet is left alone: its next ``orders/updated``
    (Shopify sends one after every refund) lists this refund, and it is applied then.
    """
    row = await _locked_order_row(conn, tenant_id, refund.order_gid)
    if row is None:
        return None
    await _apply_refund(conn, effects, services, tenant_id, await lifecycle.require_order(conn, tenant_id, row.id), refund)
    return row.id

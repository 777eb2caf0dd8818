"""Order rows: read one, number it, write it, add to its timeline. Connection first, tenant next.

Numbers: one counter row per tenant, incremented by an UPDATE in the placing
transaction. The UPDATE takes the row lock (MySQL) or the write lock (SQLite) until
the commit, so two placements never read the same number, and a rolled-back
placement gives its numbers back: #1001, #1002 ... without gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.db import utcnow
from origin.orders.tables import fulfillments, order_events, order_lines, order_number_counters, orders, payments, refunds

FIRST_NUMBER = 1001


async def next_order_numbers(conn: AsyncConnection, tenant_id: int, count: int = 1) -> range:
    """The tenant's next ``count`` numbers, consecutive: one statement for a whole batch of orders."""
    counter = order_number_counters
    last = await _bump_counter(conn, tenant_id, count)
    if last is None:
        try:
            async with conn.begin_nested():
                await conn.execute(counter.insert().values(tenant_id=tenant_id, last_number=FIRST_NUMBER + count - 1))
            return range(FIRST_NUMBER, FIRST_NUMBER + count)
        except IntegrityError:  # another placement created the row first: take the next numbers after it
            last = await _bump_counter(conn, tenant_id, count)
    assert last is not None
    return range(last - count + 1, last + 1)


# Built once (a placement runs it): ``last_number + count`` handed back by the UPDATE itself, see _bump_counter.
_BUMP_WITH_LAST_ID = (
    order_number_counters.update()
    .where(order_number_counters.c.tenant_id == sa.bindparam("b_tenant"))
    .values(last_number=sa.func.last_insert_id(order_number_counters.c.last_number + sa.bindparam("b_count")))
)
_BUMP_RETURNING = (
    order_number_counters.update()
    .where(order_number_counters.c.tenant_id == sa.bindparam("b_tenant"))
    .values(last_number=order_number_counters.c.last_number + sa.bindparam("b_count"))
    .returning(order_number_counters.c.last_number)
)


async def _bump_counter(conn: AsyncConnection, tenant_id: int, count: int) -> int | None:
    """The tenant's last number after taking ``count`` more, in one statement (None: no counter row yet).

    MySQL: ``LAST_INSERT_ID(expr)`` hands the new value back in the UPDATE's own answer (the
    cursor's last id), SQLite: ``UPDATE ... RETURNING``. A second SELECT would be one more
    round trip while the counter row is locked, which serializes a tenant's placements.
    """
    params = {"b_tenant": tenant_id, "b_count": count}
    if conn.dialect.name == "mysql":
        result = await conn.execute(_BUMP_WITH_LAST_ID, params)
        return int(result.lastrowid) if result.rowcount == 1 else None
    row = (await conn.execute(_BUMP_RETURNING, params)).first()
    return None if row is None else int(row[0])


async def add_event(conn: AsyncConnection, tenant_id: int, order_id: int, kind: str, message: str, data: dict[str, Any] | None = None) -> None:
    await add_events(conn, [event_row(tenant_id, order_id, kind, message, data)])


def event_row(tenant_id: int, order_id: int, kind: str, message: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return dict(tenant_id=tenant_id, order_id=order_id, kind=kind, message=message[:1000], data=data, created_at=utcnow())


async def add_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Events of several orders (``event_row``) in one statement (a batch of placements)."""
    await conn.execute(_INSERT_EVENT, rows)


_INSERT_EVENT = order_events.insert()


@dataclass(frozen=True)
class OrderLine:
    id: int
    position: int
    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal
    tax_amount: Decimal
    total_price: Decimal
    is_stock_tracked: bool
    fulfilled_quantity: int
    refunded_quantity: int


@dataclass(frozen=True)
class OrderEvent:
    kind: str
    message: str
    data: dict[str, Any] | None
    created_at: Any


@dataclass(frozen=True)
class Payment:
    id: int
    provider: str
    provider_reference: str | None
    provider_payment_id: str | None
    amount: Decimal
    currency: str
    status: str
    refunded_amount: Decimal


@dataclass(frozen=True)
class Fulfillment:
    id: int
    lines: list[dict[str, int]]
    tracking_number: str | None
    tracking_url: str | None
    carrier: str | None
    created_at: Any


@dataclass(frozen=True)
class Order:
    id: int
    tenant_id: int
    number: str
    email: str | None
    currency: str
    subtotal_price: Decimal | None
    shipping_price: Decimal | None
    tax_price: Decimal | None
    discount_price: Decimal | None
    total_price: Decimal
    refunded_price: Decimal | None
    taxes_included: bool | None
    financial_status: str | None
    fulfillment_status: str | None
    shipping_address: dict[str, str] | None
    shipping_method: str | None
    discount_code: str | None
    payment_provider: str | None
    source: str | None
    checkout_id: int | None
    idempotency_key: str | None
    request_fingerprint: str | None
    cancelled_at: Any
    created_at: Any
    updated_at: Any
    lines: tuple[OrderLine, ...] = ()
    events: tuple[OrderEvent, ...] = ()
    payments: tuple[Payment, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()


ORDER_FIELDS = [name for name in Order.__dataclass_fields__ if name not in ("lines", "events", "payments", "fulfillments")]


def order_from_row(row, **children) -> Order:
    return Order(**{name: getattr(row, name) for name in ORDER_FIELDS}, **children)


async def select_order(conn: AsyncConnection, tenant_id: int, order_id: int, *, with_children: bool = True) -> Order | None:
    row = (await conn.execute(sa.select(orders).where(orders.c.tenant_id == tenant_id, orders.c.id == order_id))).first()
    if row is None:
        return None
    if not with_children:
        return order_from_row(row)
    line_rows = await conn.execute(
        sa.select(order_lines).where(order_lines.c.tenant_id == tenant_id, order_lines.c.order_id == order_id).order_by(order_lines.c.position)
    )
    event_rows = await conn.execute(
        sa.select(order_events).where(order_events.c.tenant_id == tenant_id, order_events.c.order_id == order_id).order_by(order_events.c.id)
    )
    payment_rows = await conn.execute(
        sa.select(payments).where(payments.c.tenant_id == tenant_id, payments.c.order_id == order_id).order_by(payments.c.id)
    )
    fulfillment_rows = await conn.execute(
        sa.select(fulfillments).where(fulfillments.c.tenant_id == tenant_id, fulfillments.c.order_id == order_id).order_by(fulfillments.c.id)
    )
    return order_from_row(
        row,
        lines=tuple(OrderLine(**{name: getattr(r, name) for name in OrderLine.__dataclass_fields__}) for r in line_rows),
        events=tuple(OrderEvent(r.kind, r.message, r.data, r.created_at) for r in event_rows),
        payments=tuple(Payment(**{name: getattr(r, name) for name in Payment.__dataclass_fields__}) for r in payment_rows),
        fulfillments=tuple(Fulfillment(r.id, r.lines, r.tracking_number, r.tracking_url, r.carrier, r.created_at) for r in fulfillment_rows),
    )


async def select_order_by_key(conn: AsyncConnection, tenant_id: int, idempotency_key: str):
    return (
        await conn.execute(
            sa.select(orders.c.id, orders.c.request_fingerprint).where(orders.c.tenant_id == tenant_id, orders.c.idempotency_key == idempotency_key)
        )
    ).first()


async def select_orders(
    conn: AsyncConnection,
    tenant_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    financial_status: str | None = None,
    fulfillment_status: str | None = None,
    email: str | None = None,
) -> list[Order]:
    """Newest first, keyset-paged by id (the cursor is the last id seen)."""
    query = sa.select(orders).where(orders.c.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(orders.c.id < before_id)
    if financial_status is not None:
        query = query.where(orders.c.financial_status == financial_status)
    if fulfillment_status is not None:
        query = query.where(orders.c.fulfillment_status == fulfillment_status)
    if email is not None:
        query = query.where(orders.c.email == email)
    rows = await conn.execute(query.order_by(orders.c.id.desc()).limit(limit))
    return [order_from_row(row) for row in rows]


async def select_refund_by_key(conn: AsyncConnection, tenant_id: int, request_key: str):
    return (await conn.execute(sa.select(refunds).where(refunds.c.tenant_id == tenant_id, refunds.c.request_key == request_key))).first()

"""Every stock write of checkout and orders, in one module (like saleor's lock_objects.py).

The rule that keeps stock from being oversold is one statement::

    UPDATE variants SET inventory_quantity = inventory_quantity - :n
     WHERE tenant_id = :t AND id = :v AND inventory_quantity >= :n

It either takes all ``n`` or changes nothing (rowcount 0: sold out), atomically on both
MySQL (row lock for the rest of the transaction) and SQLite (one writer at a time).
Nothing reads the quantity first, so there is no window between a check and a write.
``continue`` variants sell past zero (an unconditional decrement); untracked variants
(``is_inventory_tracked`` false) are never counted.

A reservation is stock already taken for a checkout that reached payment, with an
expiry: placing the order consumes it (the stock stays taken), the scheduled release
gives it back. Consume and release both start with ``DELETE ... WHERE id = :id`` and
act only if they deleted the row, so the two can race and stock moves exactly once.
No function here calls anything outside the database: no lock is held across a call to
a payment provider (the caller commits before it calls one).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog.actions import recompute_product_summaries
from origin.catalog.tables import variants
from origin.orders.tables import inventory_reservations

RESERVATION_MINUTES = 15


@dataclass(frozen=True)
class StockLine:
    variant_id: int
    product_id: int
    quantity: int
    policy: str  # deny | continue
    is_tracked: bool

    @property
    def is_counted(self) -> bool:
        return self.is_tracked


async def take_stock(conn: AsyncConnection, tenant_id: int, line: StockLine) -> bool:
    """Decrement the variant by ``line.quantity``; False (nothing changed) when it does not have them."""
    return (await _take_stock(conn, tenant_id, line))[0]


def _decrement(*, deny: bool):
    statement = variants.update().where(variants.c.tenant_id == sa.bindparam("b_tenant"), variants.c.id == sa.bindparam("b_variant"))
    if deny:
        statement = statement.where(variants.c.inventory_quantity >= sa.bindparam("b_quantity"))
    return statement


# Built once (placement runs one per line, on the hottest row): see _take_stock.
_LEFT = variants.c.inventory_quantity - sa.bindparam("b_quantity")
_TAKE_CONTINUE = _decrement(deny=False).values(inventory_quantity=_LEFT)
_TAKE_WITH_LAST_ID = _decrement(deny=True).values(inventory_quantity=sa.func.last_insert_id(_LEFT))
_TAKE_RETURNING = _decrement(deny=True).values(inventory_quantity=_LEFT).returning(variants.c.inventory_quantity)


async def _take_stock(conn: AsyncConnection, tenant_id: int, line: StockLine) -> tuple[bool, int | None]:
    """``take_stock``, and for a ``deny`` line the quantity left after it, from the UPDATE's own answer.

    The quantity left says whether the variant just sold out without reading the row again
    while it is locked (the hot row of a flash sale): SQLite ``UPDATE ... RETURNING``, MySQL
    ``LAST_INSERT_ID(expr)`` (the cursor's last id; never negative here, the WHERE keeps it >= 0).
    """
    if not line.is_counted:
        return True, None
    params = {"b_tenant": tenant_id, "b_variant": line.variant_id, "b_quantity": line.quantity}
    if line.policy == "continue":
        result = await conn.execute(_TAKE_CONTINUE, params)
        return result.rowcount == 1, None
    if conn.dialect.name == "mysql":
        result = await conn.execute(_TAKE_WITH_LAST_ID, params)
        return (True, int(result.lastrowid)) if result.rowcount == 1 else (False, None)
    row = (await conn.execute(_TAKE_RETURNING, params)).first()
    return (True, int(row[0])) if row is not None else (False, None)


async def give_back(conn: AsyncConnection, tenant_id: int, variant_id: int, quantity: int) -> None:
    await conn.execute(
        variants.update()
        .where(variants.c.tenant_id == tenant_id, variants.c.id == variant_id)
        .values(inventory_quantity=variants.c.inventory_quantity + quantity)
    )


async def refresh_availability(conn: AsyncConnection, tenant_id: int, product_ids: Iterable[int]) -> list[int]:
    """Recompute the products' denormalized ``is_available``; the ids whose flag may have changed."""
    ids = sorted(set(product_ids))
    if ids:
        await recompute_product_summaries(conn, tenant_id, ids)
    return ids


async def sold_out_products(conn: AsyncConnection, tenant_id: int, lines: list[StockLine], left: dict[int, int] | None = None) -> list[int]:
    """Products of the lines whose variant has none left, as true *after* the decrement.

    ``left`` (variant id -> quantity left, filled by ``consume_for_order``) answers for the
    variants this transaction decremented itself; only the others are read.
    """
    known = left or {}
    counted = [line for line in lines if line.is_counted and line.policy != "continue"]
    sold = {line.product_id for line in counted if line.variant_id in known and known[line.variant_id] <= 0}
    unknown = [line.variant_id for line in counted if line.variant_id not in known]
    if unknown:
        rows = await conn.execute(
            sa.select(variants.c.product_id).where(variants.c.tenant_id == tenant_id, variants.c.id.in_(unknown), variants.c.inventory_quantity <= 0)
        )
        sold.update(row.product_id for row in rows)
    return sorted(sold)


async def _delete_reservation(conn: AsyncConnection, reservation_id: int) -> bool:
    result = await conn.execute(inventory_reservations.delete().where(inventory_reservations.c.id == reservation_id))
    return result.rowcount == 1


async def release_checkout_reservations(conn: AsyncConnection, tenant_id: int, checkout_id: int) -> list[int]:
    """Give back every reservation of the checkout; the variant ids released."""
    rows = (
        await conn.execute(
            sa.select(inventory_reservations.c.id, inventory_reservations.c.variant_id, inventory_reservations.c.quantity).where(
                inventory_reservations.c.tenant_id == tenant_id, inventory_reservations.c.checkout_id == checkout_id
            )
        )
    ).all()
    released = []
    for row in rows:
        if await _delete_reservation(conn, row.id):
            await give_back(conn, tenant_id, row.variant_id, row.quantity)
            released.append(row.variant_id)
    return released


async def reserve(conn: AsyncConnection, tenant_id: int, checkout_id: int, lines: list[StockLine], now: dt.datetime) -> StockLine | None:
    """Hold the lines' stock for the checkout until ``now`` + RESERVATION_MINUTES, replacing earlier holds.

    Returns the first line that is sold out (the caller rolls the transaction back), or None.
    """
    await release_checkout_reservations(conn, tenant_id, checkout_id)
    expires_at = now + dt.timedelta(minutes=RESERVATION_MINUTES)
    for line in lines:
        if not line.is_counted:
            continue
        if not await take_stock(conn, tenant_id, line):
            return line
        await conn.execute(
            inventory_reservations.insert().values(
                tenant_id=tenant_id, checkout_id=checkout_id, variant_id=line.variant_id, quantity=line.quantity, expires_at=expires_at, created_at=now
            )
        )
    return None


async def consume_for_order(
    conn: AsyncConnection, tenant_id: int, checkout_id: int | None, lines: list[StockLine], left: dict[int, int] | None = None,
) -> StockLine | None:
    """Take the lines' stock for an order: a matching reservation is consumed, anything else decremented.

    ``checkout_id`` None: the caller knows the checkout holds no reservation (nothing to read).
    Returns the first sold-out line (the caller rolls back), or None; ``left`` receives the
    quantity left of each variant decremented here (see ``sold_out_products``).
    """
    held: dict[int, tuple[int, int]] = {}
    if checkout_id is not None:
        rows = (
            await conn.execute(
                sa.select(inventory_reservations.c.id, inventory_reservations.c.variant_id, inventory_reservations.c.quantity).where(
                    inventory_reservations.c.tenant_id == tenant_id, inventory_reservations.c.checkout_id == checkout_id
                )
            )
        ).all()
        held = {row.variant_id: (row.id, row.quantity) for row in rows}
    for line in lines:
        reservation = held.pop(line.variant_id, None)
        if reservation is not None and await _delete_reservation(conn, reservation[0]):
            if reservation[1] == line.quantity:
                continue
            await give_back(conn, tenant_id, line.variant_id, reservation[1])  # the cart changed since: start over
        taken, remaining = await _take_stock(conn, tenant_id, line)
        if not taken:
            return line
        if remaining is not None and left is not None:
            left[line.variant_id] = remaining
    for reservation_id, quantity in held.values():  # held for lines no longer in the cart
        row = (await conn.execute(sa.select(inventory_reservations.c.variant_id).where(inventory_reservations.c.id == reservation_id))).first()
        if row is not None and await _delete_reservation(conn, reservation_id):
            await give_back(conn, tenant_id, row.variant_id, quantity)
    return None


async def release_expired_reservations(conn: AsyncConnection, now: dt.datetime, limit: int = 500) -> list[tuple[int, int]]:
    """Give back reservations past their expiry (every tenant); the (tenant, variant) pairs released."""
    rows = (
        await conn.execute(
            sa.select(
                inventory_reservations.c.id, inventory_reservations.c.tenant_id, inventory_reservations.c.variant_id, inventory_reservations.c.quantity
            )
            .where(inventory_reservations.c.expires_at <= now)
            .order_by(inventory_reservations.c.expires_at)
            .limit(limit)
        )
    ).all()
    released = []
    for row in rows:
        if await _delete_reservation(conn, row.id):
            await give_back(conn, row.tenant_id, row.variant_id, row.quantity)
            released.append((row.tenant_id, row.variant_id))
    return released

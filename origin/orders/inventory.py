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
    if not line.is_counted:
        return True
    statement = variants.update().where(variants.c.tenant_id == tenant_id, variants.c.id == line.variant_id)
    if line.policy != "continue":
        statement = statement.where(variants.c.inventory_quantity >= line.quantity)
    result = await conn.execute(statement.values(inventory_quantity=variants.c.inventory_quantity - line.quantity))
    return result.rowcount == 1


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


async def sold_out_products(conn: AsyncConnection, tenant_id: int, lines: list[StockLine]) -> list[int]:
    """Products of the lines whose variant has none left, read *after* the decrement (what is true now)."""
    counted = [line.variant_id for line in lines if line.is_counted and line.policy != "continue"]
    if not counted:
        return []
    rows = await conn.execute(
        sa.select(variants.c.product_id).where(variants.c.tenant_id == tenant_id, variants.c.id.in_(counted), variants.c.inventory_quantity <= 0)
    )
    return sorted({row.product_id for row in rows})


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


async def consume_for_order(conn: AsyncConnection, tenant_id: int, checkout_id: int | None, lines: list[StockLine]) -> StockLine | None:
    """Take the lines' stock for an order: a matching reservation is consumed, anything else decremented.

    Returns the first sold-out line (the caller rolls back), or None.
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
        if line.is_counted and not await take_stock(conn, tenant_id, line):
            return line
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

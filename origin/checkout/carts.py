"""The cart of a checkout, stored as rows (issue 15), with the same Cart record the cart pages use.

``load_cart`` / ``save_cart`` replace the cache storage of ``origin.cart.carts``: the
signed cookie still carries the cart id, which is the checkout's ``token``. A cart is
only variant ids and quantities (prices, titles and stock are read fresh at every
step). The flash notice is kept on the row so it survives a process restart too.
A checkout an order was placed from is frozen: it loads as an empty cart, and saving
to it is refused (the shopper gets a new cart id).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.cart.carts import Cart
from origin.checkout.errors import CheckoutError, CheckoutErrorCode
from origin.checkout.tables import checkout_lines, checkouts
from origin.db import utcnow
from origin.errors import ErrorKind
from origin.orders.tables import orders
from origin.services import Services

OPEN = "open"
COMPLETED = "completed"


async def select_checkout_row(conn: AsyncConnection, tenant_id: int, token: str):
    return (await conn.execute(sa.select(checkouts).where(checkouts.c.tenant_id == tenant_id, checkouts.c.token == token))).first()


async def select_order_id(conn: AsyncConnection, tenant_id: int, token: str) -> int | None:
    """The order placed from this cart, if one was.

    Read from the order's ``checkout_id`` (indexed with the tenant), which placement writes
    with the order itself, not from ``checkouts.order_id``, which placement no longer sets:
    one statement fewer while it holds its locks (docs/benchmarks.md).
    """
    placed = sa.and_(orders.c.tenant_id == checkouts.c.tenant_id, orders.c.checkout_id == checkouts.c.id)
    query = sa.select(orders.c.id).select_from(checkouts.join(orders, placed)).where(checkouts.c.tenant_id == tenant_id, checkouts.c.token == token)
    return (await conn.execute(query.order_by(orders.c.id).limit(1))).scalar()


async def select_lines(conn: AsyncConnection, tenant_id: int, checkout_id: int) -> tuple[tuple[int, int], ...]:
    rows = await conn.execute(
        sa.select(checkout_lines.c.variant_id, checkout_lines.c.quantity)
        .where(checkout_lines.c.tenant_id == tenant_id, checkout_lines.c.checkout_id == checkout_id)
        .order_by(checkout_lines.c.position)
    )
    return tuple((row.variant_id, row.quantity) for row in rows)


async def load_cart(services: Services, tenant_id: int, cart_id: str | None) -> Cart:
    if cart_id is None:
        return Cart()
    async with services.db.connect() as conn:
        row = await select_checkout_row(conn, tenant_id, cart_id)
        if row is None or row.status != OPEN:
            return Cart()
        return Cart(lines=await select_lines(conn, tenant_id, row.id), notice=row.notice or "")


async def is_completed(services: Services, tenant_id: int, cart_id: str) -> bool:
    """True when an order was placed from this cart: the browser needs a new cart id."""
    async with services.db.connect() as conn:
        row = await select_checkout_row(conn, tenant_id, cart_id)
    return row is not None and row.status != OPEN


async def ensure_checkout(conn: AsyncConnection, tenant_id: int, token: str) -> int:
    """The open checkout's id for the token, created on first use."""
    row = await select_checkout_row(conn, tenant_id, token)
    if row is None:
        try:
            async with conn.begin_nested():
                result = await conn.execute(checkouts.insert().values(tenant_id=tenant_id, token=token, status=OPEN, notice=""))
            return int(result.inserted_primary_key[0])
        except IntegrityError:  # the same browser's other tab created it a moment ago
            row = await select_checkout_row(conn, tenant_id, token)
    if row is None or row.status != OPEN:
        raise CheckoutError(
            CheckoutErrorCode.COMPLETED, "this cart was already ordered; start a new one", kind=ErrorKind.CONFLICT
        )
    return int(row.id)


async def save_cart(services: Services, tenant_id: int, cart_id: str, cart: Cart) -> None:
    async with services.db.begin() as conn:
        checkout_id = await ensure_checkout(conn, tenant_id, cart_id)
        await conn.execute(checkout_lines.delete().where(checkout_lines.c.tenant_id == tenant_id, checkout_lines.c.checkout_id == checkout_id))
        if cart.lines:
            await conn.execute(
                checkout_lines.insert(),
                [
                    {"tenant_id": tenant_id, "checkout_id": checkout_id, "variant_id": variant_id, "quantity": quantity, "position": position}
                    for position, (variant_id, quantity) in enumerate(cart.lines)
                ],
            )
        await conn.execute(
            checkouts.update()
            .where(checkouts.c.tenant_id == tenant_id, checkouts.c.id == checkout_id)
            .values(notice=cart.notice[:1000], updated_at=utcnow())
        )

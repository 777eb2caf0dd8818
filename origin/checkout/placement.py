"""do_place_order: a checkout becomes an order exactly once per Idempotency-Key (issue 15).

The guards, in the order they run inside one transaction:

1. The key, unique per tenant in the database (``orders (tenant_id, idempotency_key)``).
   A key seen before with the same request (fingerprint: checkout token + provider)
   replays the same order; with another request it is a 409.
2. The checkout flips ``open -> completed`` by one conditional UPDATE before anything
   else is written: of two placements of one cart (double click, two tabs, two keys)
   exactly one gets the row; the other finds the order (same key: replay) or a 409.
3. The checkout is re-read *after* that flip and priced from what is true now.
4. A discount's use is counted by a conditional UPDATE (usage limits hold under races).
5. The order, its lines and payment are written under a stand-in number.
6. Stock, last but one: reservations consumed or an atomic conditional decrement
   (origin/orders/inventory.py); a sold-out line rolls everything back.
7. The number, last: from the tenant's counter row (origin/orders/records.py), no gaps;
   then the event and the confirmation (built from what this transaction wrote).
The hot rows (a flash sale's variant, the tenant's counter) are locked from 6 and 7 to the
commit, a few statements, so concurrent placements wait on each other only that long.

The payment provider is called only after the commit (``start_payment``), with an
idempotency key derived from the order's, so a retry of a timed-out call creates
nothing new at the provider. Analytics' ``purchase`` goes out after the commit too,
with event ids naming the order: once per order however often it is replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from origin.analytics.emit import PurchaseLine, emit_purchase
from origin.checkout.carts import COMPLETED, OPEN
from origin.checkout.errors import CheckoutError, CheckoutErrorCode, sold_out
from origin.checkout.fetch import CheckoutInfo, fetch_checkout_to_place
from origin.checkout.tables import checkouts, discounts
from origin.db import sqlite_writer_turn, utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.orders import inventory
from origin.orders.emails import EmailLine, queue_placed_order_email
from origin.orders.records import Order, add_event, next_order_number, select_order, select_order_by_key
from origin.orders.tables import order_lines, orders, payments
from origin.payments.errors import PaymentError, PaymentErrorCode
from origin.payments.providers import PaymentRequest, PaymentStart
from origin.payments.stripe import providers_of
from origin.services import Services
from edge import tags as cache_tags

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,255}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    number: str
    total: str
    currency: str
    payment_provider: str
    is_replay: bool


def fingerprint(token: str, provider: str) -> str:
    return hashlib.sha256(f"{token}\x00{provider}".encode()).hexdigest()


def check_idempotency_key(key: str | None) -> str:
    if key is None or not IDEMPOTENCY_KEY.match(key):
        raise CheckoutError(
            CheckoutErrorCode.INVALID_IDEMPOTENCY_KEY,
            "an Idempotency-Key of 8 to 255 printable characters is required to place an order",
            field="Idempotency-Key",
        )
    return key


def check_ready(info: CheckoutInfo, now) -> None:
    """What a checkout still lacks before it can become an order (a clear 4xx naming it)."""
    if not info.lines:
        raise CheckoutError(CheckoutErrorCode.EMPTY_CART, "the cart is empty", field="lines", kind=ErrorKind.CONFLICT)
    if not info.email or not EMAIL.match(info.email):
        raise CheckoutError(CheckoutErrorCode.INCOMPLETE, "enter your email address first", field="email", kind=ErrorKind.CONFLICT)
    if info.address is None:
        raise CheckoutError(CheckoutErrorCode.INCOMPLETE, "enter a shipping address first", field="shipping_address", kind=ErrorKind.CONFLICT)
    if info.shipping_rate is None:
        raise CheckoutError(CheckoutErrorCode.NO_SHIPPING_RATE, "choose a shipping method for this address", field="shipping_rate_id", kind=ErrorKind.CONFLICT)
    if info.discount_code and (info.discount is None or info.discount.problem_at(now) is not None):
        problem = "that discount code does not exist" if info.discount is None else info.discount.problem_at(now)
        raise CheckoutError(CheckoutErrorCode.DISCOUNT_NOT_USABLE, problem, field="discount_code", kind=ErrorKind.CONFLICT)


async def _replay_or_conflict(conn, tenant_id: int, key: str, expected: str) -> PlacedOrder | None:
    existing = await select_order_by_key(conn, tenant_id, key)
    if existing is None:
        return None
    if existing.request_fingerprint != expected:
        raise CheckoutError(
            CheckoutErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was already used to place a different order",
            field="Idempotency-Key",
            kind=ErrorKind.CONFLICT,
        )
    order = await select_order(conn, tenant_id, existing.id, with_children=False)
    return PlacedOrder(order.id, order.number, str(order.total_price), order.currency, order.payment_provider or "", True)


async def do_place_order(
    services: Services,
    tenant_id: int,
    token: str,
    idempotency_key: str | None,
    provider_name: str,
    *,
    after_commit: Callable[[int], object] | None = None,
    shopper=None,
    store_host: str = "",
) -> PlacedOrder:
    key = check_idempotency_key(idempotency_key)
    if providers_of(services).get(provider_name) is None:
        raise CheckoutError(CheckoutErrorCode.INCOMPLETE, "choose a payment method this shop offers", field="payment_provider")
    expected = fingerprint(token, provider_name)
    for attempt in range(1, LOCK_CONFLICT_ATTEMPTS + 1):
        try:
            async with sqlite_writer_turn(services.db):
                return await _place_once(services, tenant_id, token, key, expected, provider_name, after_commit=after_commit, shopper=shopper, store_host=store_host)
        except OperationalError as error:
            if not is_lock_conflict(error):
                raise
            if attempt == LOCK_CONFLICT_ATTEMPTS:
                raise CheckoutError(
                    CheckoutErrorCode.BUSY, "the shop is very busy right now; press Pay again (you will not be charged twice)", kind=ErrorKind.UNAVAILABLE
                ) from error
            await asyncio.sleep(random.uniform(0.002, 0.01) * attempt)
    raise AssertionError("unreachable")


# A placement whose transaction lost a lock race is rolled back whole by the database, so running it again
# is safe: nothing of it was written, and the Idempotency-Key makes a retry of a committed one a replay.
# SQLite (WAL) answers "database is locked" at once, without waiting, when a transaction that has read a
# schema file must write it after another connection committed to it (the email sender, another order);
# MySQL answers a deadlock (1213) or a lock wait timeout (1205). Measured with bench/checkout.py.
LOCK_CONFLICT_ATTEMPTS = 8


def is_lock_conflict(error: OperationalError) -> bool:
    code = getattr(error.orig, "args", (None,))[0] if error.orig is not None else None
    return code in (1205, 1213) or "database is locked" in str(error.orig)


# Placement's statements, built once. Building a statement (where clauses, values) and computing its cache
# key costs about as much CPU as executing it; the compiled form is cached either way. With the values as
# parameters, a placement executes prebuilt statements only (bench/checkout.py, docs/benchmarks.md).
_FLIP = (
    checkouts.update()
    .where(checkouts.c.tenant_id == sa.bindparam("b_tenant"), checkouts.c.token == sa.bindparam("b_token"), checkouts.c.status == OPEN)
    .values(status=COMPLETED, updated_at=sa.bindparam("b_now"))
)
_NUMBER_ORDER = orders.update().where(orders.c.id == sa.bindparam("b_order")).values(number=sa.bindparam("b_number"), updated_at=sa.bindparam("b_now"))
_INSERT_ORDER = orders.insert()
_INSERT_LINES = order_lines.insert()
_INSERT_PAYMENT = payments.insert()


async def _place_once(
    services: Services, tenant_id: int, token: str, key: str, expected: str, provider_name: str, *,
    after_commit: Callable[[int], object] | None, shopper, store_host: str,
) -> PlacedOrder:
    async with transaction(services) as (conn, effects):
        if conn.dialect.name == "sqlite":
            # Take SQLite's write lock on every attached file first (waiting in the busy handler if another
            # connection, the email sender, holds it), rather than at the first write after the reads: a
            # deferred transaction whose reads were overtaken by another connection's commit cannot write
            # at all ("database is locked" at once), which lost races and, after the retries, answered 503.
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        # No replay read up front: a key seen before either named this cart, whose flip below then finds it
        # completed (and the replay is looked up there), or another cart, whose order insert then fails on
        # the unique key (409). One statement fewer on every first placement, the common case.
        flipped = await conn.execute(_FLIP, {"b_tenant": tenant_id, "b_token": token, "b_now": utcnow()})
        if flipped.rowcount != 1:
            replay = await _replay_or_conflict(conn, tenant_id, key, expected)
            if replay is not None:
                return replay
            row = (await conn.execute(sa.select(checkouts.c.status).where(checkouts.c.tenant_id == tenant_id, checkouts.c.token == token))).first()
            if row is None:
                raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such cart in this shop", kind=ErrorKind.NOT_FOUND)
            raise CheckoutError(CheckoutErrorCode.COMPLETED, "an order was already placed from this cart", kind=ErrorKind.CONFLICT)
        info, store = await fetch_checkout_to_place(conn, services, tenant_id, token)  # the flip above found the row
        now = utcnow()
        check_ready(info, now)
        discount = info.usable_discount(now)
        if discount is not None:
            counted = await conn.execute(
                discounts.update()
                .where(
                    discounts.c.tenant_id == tenant_id,
                    discounts.c.id == discount.id,
                    sa.or_(discounts.c.usage_limit.is_(None), discounts.c.times_used < discounts.c.usage_limit),
                )
                .values(times_used=discounts.c.times_used + 1)
            )
            if counted.rowcount != 1:
                raise CheckoutError(CheckoutErrorCode.DISCOUNT_NOT_USABLE, "that discount code has been used up", field="discount_code", kind=ErrorKind.CONFLICT)
        totals = info.totals(now)
        # The order goes in under a stand-in number unique to this transaction; the real one is taken
        # last (below), so the tenant's counter row stays locked for a few statements, not the whole placement.
        values = dict(
            tenant_id=tenant_id, number=f"~{uuid.uuid4().hex}", email=info.email, currency=info.currency,
            subtotal_price=totals.subtotal, shipping_price=totals.shipping, tax_price=totals.tax,
            discount_price=totals.discount, total_price=totals.total, refunded_price=Decimal(0), taxes_included=totals.taxes_included,
            financial_status="pending", fulfillment_status="unfulfilled", source="checkout",
            shipping_address=info.address.as_dict(), shipping_method=info.shipping_rate.name,
            discount_code=discount.code if discount else None, payment_provider=provider_name,
            checkout_id=info.id, idempotency_key=key, request_fingerprint=expected,
            created_at=now, updated_at=now,
        )
        # No savepoint around the insert (two statements on MySQL): a duplicate key raises a CheckoutError,
        # which rolls the whole transaction back anyway.
        try:
            result = await conn.execute(_INSERT_ORDER, values)
        except IntegrityError:  # the same key, placed a moment ago (or before) from another cart
            raise CheckoutError(
                CheckoutErrorCode.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was already used to place a different order",
                field="Idempotency-Key", kind=ErrorKind.CONFLICT,
            ) from None
        order_id = int(result.inserted_primary_key[0])
        line_values = [
            {
                "tenant_id": tenant_id, "order_id": order_id, "position": position, "variant_id": line.variant_id,
                "product_id": line.product_id, "title": line.title, "variant_title": line.variant_title, "sku": line.sku,
                "quantity": line.quantity, "unit_price": priced.unit_price, "discount_amount": priced.discount,
                "tax_amount": priced.tax, "total_price": priced.total, "is_stock_tracked": line.is_tracked,
                "fulfilled_quantity": 0, "refunded_quantity": 0,
            }
            for position, (line, priced) in enumerate(zip(info.lines, totals.lines))
        ]
        await conn.execute(_INSERT_LINES, line_values)
        await conn.execute(
            _INSERT_PAYMENT,
            dict(
                tenant_id=tenant_id, order_id=order_id, provider=provider_name, amount=totals.total, currency=info.currency,
                status="pending", refunded_amount=Decimal(0), created_at=now, updated_at=now,
            ),
        )

        # The hot rows, last: the variant's stock and then the tenant's number counter are locked (MySQL) from
        # here to the commit, a handful of statements, so placements of one hot variant (a flash sale) and of
        # one tenant wait on each other only that long. A sold-out line still rolls everything above back.
        stock_lines = [line.stock_line() for line in info.lines]
        left: dict[int, int] = {}
        sold = await inventory.consume_for_order(conn, tenant_id, info.id if info.has_reservations else None, stock_lines, left)
        if sold is not None:
            title = next(line.title for line in info.lines if line.variant_id == sold.variant_id)
            raise sold_out(title)
        sold_out_products = await inventory.sold_out_products(conn, tenant_id, stock_lines, left)
        if sold_out_products:
            await inventory.refresh_availability(conn, tenant_id, sold_out_products)
            effects.purge(tenant_id, *(cache_tags.product_tag(tenant_id, product_id) for product_id in sorted(set(sold_out_products))))
        number = f"#{await next_order_number(conn, tenant_id)}"
        await conn.execute(_NUMBER_ORDER, {"b_order": order_id, "b_number": number, "b_now": now})
        await add_event(conn, tenant_id, order_id, "placed", f"Order {number} placed ({totals.total} {info.currency}, {provider_name})")
        placed = Order(**{**values, "number": number}, id=order_id, cancelled_at=None)
        await queue_placed_order_email(conn, effects, services, store, placed, [EmailLine(**{name: row[name] for name in EmailLine.__dataclass_fields__}) for row in line_values])
        purchase_lines = [PurchaseLine(line.product_id, line.variant_id, line.quantity, priced.total) for line, priced in zip(info.lines, totals.lines)]
        effects.call(lambda: emit_purchase(services, tenant_id, order_id=str(order_id), currency=info.currency, lines=purchase_lines, shopper=shopper, store_host=store_host))
        if after_commit is not None:
            effects.call(lambda: after_commit(order_id))
    return PlacedOrder(order_id, number, str(totals.total), info.currency, provider_name, False)


def provider_key(tenant_id: int, idempotency_key: str) -> str:
    return f"order-{tenant_id}-{idempotency_key}"[:255]


async def start_payment(services: Services, tenant_id: int, order_id: int, *, success_url: str, cancel_url: str) -> PaymentStart:
    """Open the order's payment at its provider, or find the one opened before (idempotent; call after the commit)."""
    async with services.db.connect() as conn:
        order = await select_order(conn, tenant_id, order_id)
    if order is None:
        raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such order in this shop", kind=ErrorKind.NOT_FOUND)
    provider = providers_of(services).get(order.payment_provider or "")
    if provider is None:
        raise PaymentError(PaymentErrorCode.NOT_CONFIGURED, "this order's payment method is not offered any more")
    payment = order.payments[-1]
    if payment.status != "pending":
        return PaymentStart(reference=payment.provider_reference, redirect_url=None)
    started = await provider.start(
        PaymentRequest(
            tenant_id=tenant_id, order_id=order.id, order_number=order.number, amount=order.total_price, currency=order.currency,
            email=order.email or "", idempotency_key=provider_key(tenant_id, order.idempotency_key or str(order.id)),
            success_url=success_url, cancel_url=cancel_url,
        )
    )
    if started.reference is not None and payment.provider_reference is None:
        async with services.db.begin() as conn:
            await conn.execute(
                payments.update()
                .where(payments.c.tenant_id == tenant_id, payments.c.id == payment.id, payments.c.provider_reference.is_(None))
                .values(provider_reference=started.reference, updated_at=utcnow())
            )
    return started

"""do_place_order: a checkout becomes an order exactly once per Idempotency-Key (issue 15).

Concurrent placements of one shop are placed together (group commit): each batch is
what arrived while the one before it ran, in one transaction whose statements carry
every order of the batch (one flip, one read, one insert per table). A flash sale's
buyers then share statements and commits instead of queueing one by one on its hot
rows. Each placement keeps its own answer and its own effects.

The guards, in the order they run inside the batch's transaction:

1. The key, unique per tenant in the database (``orders (tenant_id, idempotency_key)``).
   A key seen before with the same request (fingerprint: checkout token + provider)
   replays the same order; with another request it is a 409.
2. The checkouts flip ``open -> completed`` by one conditional UPDATE before anything
   else is written: of two placements of one cart (double click, two tabs, two keys)
   exactly one gets the row; the other finds the order (same key: replay) or a 409.
3. The checkouts are re-read *after* that flip and priced from what is true now; a
   placement that cannot go on (cart not ready, discount used up, none left of a line by
   the stock just read) is refused on its own and its cart reopened.
4. A discount's use is counted by a conditional UPDATE (usage limits hold under races).
5. Stock, then numbers: reservations consumed or one atomic conditional decrement per
   variant for the whole batch (origin/orders/inventory.py), then the batch's numbers from
   the tenant's counter row (origin/orders/records.py), consecutive, no gaps.
6. The orders with their numbers, their lines, payments, events and confirmations (built
   from what this transaction wrote), one statement per table for the batch.
The hot rows (a flash sale's variant, the tenant's counter) are locked from 5 to the commit.
Anything found once the batch has written (a decrement that lost a race with another
process, a key's second use) rolls the whole batch back, and each of its placements is
then placed on its own: the answers are those each would get alone.

The payment provider is called only after the commit (``start_payment``), with an
idempotency key derived from the order's, so a retry of a timed-out call creates
nothing new at the provider. Analytics' ``purchase`` goes out after the commit too,
with event ids naming the order: once per order however often it is replayed.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import hashlib
import logging
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from origin.analytics.emit import PurchaseLine, emit_purchase
from origin.checkout.carts import COMPLETED, OPEN
from origin.checkout.errors import CheckoutError, CheckoutErrorCode, sold_out
from origin.checkout.fetch import CheckoutInfo, fetch_checkouts_to_place
from origin.checkout.tables import checkouts, discounts
from origin.db import insert_returning_ids, sqlite_writer_turn, utcnow
from origin.errors import ErrorKind
from origin.invalidation import AfterCommit
from origin.orders import inventory
from origin.checkout.pricing import Discount, Totals
from origin.orders.emails import EmailLine, EmailStore, PlacedOrderEmail, queue_placed_order_emails
from origin.orders.records import Order, add_events, event_row, next_order_numbers, select_order, select_order_by_key
from origin.orders.tables import order_lines, orders, payments
from origin.payments.errors import PaymentError, PaymentErrorCode
from origin.payments.providers import PaymentRequest, PaymentStart
from origin.payments.stripe import providers_of
from origin.services import Services
from edge import tags as cache_tags

log = logging.getLogger(__name__)

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
    """Place the order of checkout ``token`` (or replay the one placed with this key), effects sent when it answers.

    Concurrent placements of one shop are placed together, in one transaction (group commit, see
    ``_run_batches``): a flash sale's buyers share each statement and each commit instead of queueing
    one by one on its hot rows. Each placement's answer and effects are its own.
    """
    key = check_idempotency_key(idempotency_key)
    if providers_of(services).get(provider_name) is None:
        raise CheckoutError(CheckoutErrorCode.INCOMPLETE, "choose a payment method this shop offers", field="payment_provider")
    placement = _Placement(
        tenant_id=tenant_id, token=token, key=key, fingerprint=fingerprint(token, provider_name), provider=provider_name,
        shopper=shopper, store_host=store_host, after_commit=after_commit,
        answer=asyncio.get_running_loop().create_future(), context=contextvars.copy_context(),
    )
    queue = services.placement_queues.get(tenant_id)
    if queue is None:
        queue = services.placement_queues[tenant_id] = _TenantQueue()
    queue.waiting.append(placement)
    if len(queue.runners) < _batches_in_flight(services):
        # A context of its own: the batch's statements belong to no one request (each placement's effects
        # run in its caller's context, see _answer_after_effects).
        runner = asyncio.create_task(_run_batches(services, tenant_id, queue), context=contextvars.Context())
        queue.runners.add(runner)
        runner.add_done_callback(queue.runners.discard)
    # Cancelled while waiting (the shopper went away): the future is cancelled with it and the batch skips
    # it if it has not started; once its batch committed, its effects go out all the same.
    return await placement.answer


@dataclass(eq=False)
class _Placement:
    """One ``do_place_order`` call waiting for its batch; ``answer`` is set once its effects went out."""

    tenant_id: int
    token: str
    key: str
    fingerprint: str
    provider: str
    shopper: object
    store_host: str
    after_commit: Callable[[int], object] | None
    answer: asyncio.Future
    context: contextvars.Context
    effects: AfterCommit = field(default_factory=AfterCommit)


@dataclass(eq=False)
class _TenantQueue:
    waiting: list[_Placement] = field(default_factory=list)
    runners: set[asyncio.Task] = field(default_factory=set)


# At most this many placements in one transaction: the batch's statements grow with it (one row per order
# in each insert), and a placement waits for the batch ahead of it to commit. 32 buyers fill one batch.
MAX_BATCH = 32

# The effects of committed placements, sent in their callers' contexts (kept here: the loop holds tasks weakly).
_sending_effects: set[asyncio.Task] = set()


async def _run_batches(services: Services, tenant_id: int, queue: _TenantQueue) -> None:
    """Place the tenant's waiting placements, as many as came in while the last batch ran, until none wait.

    No timer: an idle shop's placement starts at once (a batch of one); under load each batch is
    what arrived during the one before, so batches grow with the load and the wait stays one batch.
    """
    try:
        while queue.waiting:
            batch = [placement for placement in queue.waiting[:MAX_BATCH] if not placement.answer.done()]
            del queue.waiting[:MAX_BATCH]
            if batch:
                await _place_batch(services, batch)
    finally:
        if len(queue.runners) <= 1:  # the last runner: nothing is left waiting, or the runners were cancelled (shutdown)
            for placement in queue.waiting:
                placement.answer.cancel()
            queue.waiting.clear()
            services.placement_queues.pop(tenant_id, None)


def _batches_in_flight(services: Services) -> int:
    """How many batches of one shop run at once in this process.

    MySQL: two, so one batch's first statements (flip, read, discounts) overlap the other's last ones
    (its row locks on the hot variant and counter make the second wait there, not before). SQLite: one
    (its single writer would make the second wait at its first statement).
    """
    return 1 if services.db.dialect.name == "sqlite" else 2


class _PlaceSeparately(Exception):
    """A batch's flip did not find every cart open (one ordered before, unknown, or twice in the batch): place each on its own."""


async def _place_batch(services: Services, batch: list[_Placement]) -> None:
    try:
        placed = await _place_with_retries(services, batch)
    except (_PlaceSeparately, CheckoutError) as error:
        if len(batch) > 1 and not (isinstance(error, CheckoutError) and error.code == CheckoutErrorCode.BUSY.value):
            # The batch was rolled back whole; each placement's own transaction says what is true of it.
            for placement in batch:
                await _place_batch(services, [placement])
            return
        _settle_all(batch, error)
    except asyncio.CancelledError:
        for placement in batch:
            placement.answer.cancel()
        raise
    except Exception as error:  # the database or a bug: every placement of the batch answers with it
        _settle_all(batch, error)
    else:
        for placement, outcome in zip(batch, placed):
            if isinstance(outcome, CheckoutError):
                if not placement.answer.done():
                    placement.answer.set_exception(outcome)
            else:
                _answer_after_effects(services, placement, outcome)


def _settle_all(batch: list[_Placement], error: Exception) -> None:
    for placement in batch:
        if not placement.answer.done():
            placement.answer.set_exception(error)


def _answer_after_effects(services: Services, placement: _Placement, order: PlacedOrder) -> None:
    """Send the committed placement's effects in its caller's context, then answer it (or say what failed)."""

    async def send() -> None:
        try:
            await placement.effects.flush(services)
        except Exception as error:  # the order stands; as for any action, a failed effect is the answer
            if not placement.answer.done():
                placement.answer.set_exception(error)
            else:
                log.exception("an effect of order %s failed after its caller went away", order.order_id)
            return
        if not placement.answer.done():
            placement.answer.set_result(order)

    task = asyncio.create_task(send(), context=placement.context)
    _sending_effects.add(task)
    task.add_done_callback(_sending_effects.discard)


async def _place_with_retries(services: Services, batch: list[_Placement]) -> list[PlacedOrder | CheckoutError]:
    for attempt in range(1, LOCK_CONFLICT_ATTEMPTS + 1):
        try:
            async with sqlite_writer_turn(services.db):
                return await _place_together(services, batch)
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
# The batch's carts, by their tokens in the tenant (the flip and the reopening of refused ones).
_BATCH_CARTS = (checkouts.c.tenant_id == sa.bindparam("b_tenant"), checkouts.c.token.in_(sa.bindparam("b_tokens", expanding=True)))
_FLIP = checkouts.update().where(*_BATCH_CARTS, checkouts.c.status == OPEN).values(status=COMPLETED, updated_at=sa.bindparam("b_now"))
_INSERT_LINES = order_lines.insert()
_INSERT_PAYMENT = payments.insert()
_REOPEN = checkouts.update().where(*_BATCH_CARTS, checkouts.c.status == COMPLETED).values(status=OPEN)


@dataclass
class _Priced:
    """A placement of the batch with what its transaction read and priced."""

    placement: _Placement
    info: CheckoutInfo
    store: EmailStore
    discount: Discount | None
    totals: Totals


async def _place_together(services: Services, batch: list[_Placement]) -> list[PlacedOrder | CheckoutError]:
    """One transaction for the batch: an order, or the refusal of its placement (a 4xx), per placement.

    A refusal found before anything is written for it (the cart is not ready, its discount is used
    up, the stock this transaction read cannot cover it after the batch's earlier placements) reopens
    its cart and leaves the rest of the batch to go on. Anything found later, once the batch has
    written (the stock's conditional decrement lost a race, a key's second use), raises: the whole
    batch is rolled back and each placement placed on its own.
    """
    tenant_id = batch[0].tenant_id
    outcomes: list[PlacedOrder | CheckoutError | None] = [None] * len(batch)
    async with services.db.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Take SQLite's write lock on every attached file first (waiting in the busy handler if another
            # connection, the email sender, holds it), rather than at the first write after the reads: a
            # deferred transaction whose reads were overtaken by another connection's commit cannot write
            # at all ("database is locked" at once), which lost races and, after the retries, answered 503.
            await conn.exec_driver_sql("BEGIN IMMEDIATE")
        # No replay read up front: a key seen before either named this cart, whose flip below then finds it
        # completed (and the replay is looked up there), or another cart, whose order insert then fails on
        # the unique key (409). One statement fewer on every first placement, the common case.
        now = utcnow()
        flipped = await conn.execute(_FLIP, {"b_tenant": tenant_id, "b_tokens": [placement.token for placement in batch], "b_now": now})
        if flipped.rowcount != len(batch):  # a cart already ordered, unknown, or twice in the batch
            if len(batch) > 1:
                raise _PlaceSeparately()
            return [await _replay_or_refusal(conn, batch[0])]
        fetched = await fetch_checkouts_to_place(conn, services, tenant_id, [placement.token for placement in batch])  # the flip found them
        priced: list[_Priced] = []
        placed_indexes: list[int] = []
        demand: dict[int, int] = {}  # variant -> units the batch's earlier placements take of it
        for index, placement in enumerate(batch):
            info, store = fetched[placement.token]
            try:
                check_ready(info, now)
                _check_stock_read(info, demand)
                discount = info.usable_discount(now)
                if discount is not None:
                    await _count_discount_use(conn, tenant_id, discount)
            except CheckoutError as refusal:
                if len(batch) == 1:
                    raise  # the transaction (its flip) is rolled back
                outcomes[index] = refusal
                continue
            priced.append(_Priced(placement, info, store, discount, info.totals(now)))
            placed_indexes.append(index)
        refused = [placement.token for placement, outcome in zip(batch, outcomes) if outcome is not None]
        if refused:  # their carts stay open: the shopper can change them and pay again
            await conn.execute(_REOPEN, {"b_tenant": tenant_id, "b_tokens": refused})
        if priced:
            for index, order in zip(placed_indexes, await _write_orders(conn, services, tenant_id, priced, now)):
                outcomes[index] = order
    return outcomes  # type: ignore[return-value]  (every placement has its outcome)


def _check_stock_read(info: CheckoutInfo, demand: dict[int, int]) -> None:
    """Sold out if the stock this transaction read cannot cover the lines after the batch's earlier placements.

    A shortcut, not the guard: the conditional decrement in ``_take_stock`` is (on MySQL another
    process may take stock between this read and it). On SQLite the read is exact: the
    transaction holds the write lock from its first statement. A checkout's reserved lines took
    their stock when it reached payment.
    """
    if info.has_reservations:
        return
    wanted: dict[int, int] = {}
    for line in info.lines:
        if line.available is not None:
            wanted[line.variant_id] = wanted.get(line.variant_id, 0) + line.quantity
            if wanted[line.variant_id] + demand.get(line.variant_id, 0) > line.available:
                raise sold_out(line.title)
    for variant_id, quantity in wanted.items():
        demand[variant_id] = demand.get(variant_id, 0) + quantity


async def _write_orders(conn, services: Services, tenant_id: int, priced: list[_Priced], now) -> list[PlacedOrder]:
    """The batch's orders, their lines, payments, events and confirmations; stock and numbers taken first."""
    # The hot rows, before anything is inserted (a sold-out batch writes nothing more) and then held to the
    # commit: the variants' stock and the tenant's number counter, locked (MySQL) for the batch's inserts.
    await _take_stock(conn, tenant_id, priced, priced[0].placement.effects)
    numbers = await next_order_numbers(conn, tenant_id, len(priced))
    order_rows = [_order_row(one, f"#{number}", now) for one, number in zip(priced, numbers)]
    order_ids = await _insert_orders(conn, order_rows)

    line_rows = [[_line_row(tenant_id, order_id, position, line, priced_line) for position, (line, priced_line) in enumerate(zip(one.info.lines, one.totals.lines))]
                 for one, order_id in zip(priced, order_ids)]
    all_lines = [row for rows in line_rows for row in rows]
    await conn.execute(_INSERT_LINES, all_lines)
    payment_rows = [
        dict(
            tenant_id=tenant_id, order_id=order_id, provider=one.placement.provider, amount=one.totals.total, currency=one.info.currency,
            status="pending", refunded_amount=Decimal(0), created_at=now, updated_at=now,
        )
        for one, order_id in zip(priced, order_ids)
    ]
    await conn.execute(_INSERT_PAYMENT, payment_rows)
    await add_events(conn, [
        event_row(tenant_id, order_id, "placed", f"Order {row['number']} placed ({one.totals.total} {one.info.currency}, {one.placement.provider})")
        for one, order_id, row in zip(priced, order_ids, order_rows)
    ])
    await queue_placed_order_emails(conn, services, tenant_id, [
        PlacedOrderEmail(
            one.placement.effects, one.store, Order(**row, id=order_id, cancelled_at=None),
            [EmailLine(**{name: line[name] for name in EmailLine.__dataclass_fields__}) for line in lines],
        )
        for one, order_id, row, lines in zip(priced, order_ids, order_rows, line_rows)
    ])
    for one, order_id in zip(priced, order_ids):
        _after_commit_of(services, one, order_id)
    return [
        PlacedOrder(order_id, row["number"], str(one.totals.total), one.info.currency, one.placement.provider, False)
        for one, order_id, row in zip(priced, order_ids, order_rows)
    ]


async def _replay_or_refusal(conn, placement: _Placement) -> PlacedOrder:
    """A placement whose cart was not open: the order this key placed (replay), or why not (4xx)."""
    replay = await _replay_or_conflict(conn, placement.tenant_id, placement.key, placement.fingerprint)
    if replay is not None:
        return replay
    row = (await conn.execute(sa.select(checkouts.c.status).where(checkouts.c.tenant_id == placement.tenant_id, checkouts.c.token == placement.token))).first()
    if row is None:
        raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such cart in this shop", kind=ErrorKind.NOT_FOUND)
    raise CheckoutError(CheckoutErrorCode.COMPLETED, "an order was already placed from this cart", kind=ErrorKind.CONFLICT)


async def _count_discount_use(conn, tenant_id: int, discount: Discount) -> None:
    """One more use of the code, by a conditional UPDATE: a usage limit holds under races."""
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


async def _take_stock(conn, tenant_id: int, priced: list[_Priced], effects: AfterCommit) -> None:
    """Every line's stock: a checkout's reservations consumed, the rest decremented once per variant for the batch.

    A line the stock cannot cover raises sold out (the batch is then placed one by one, so the
    first buyers get the last units). Products that sold out are refreshed and purged.
    """
    left: dict[int, int] = {}
    wanted: dict[int, inventory.StockLine] = {}  # variant -> the batch's quantity of it, outside reservations
    every_line: list[inventory.StockLine] = []
    for one in priced:
        stock_lines = [line.stock_line() for line in one.info.lines]
        every_line.extend(stock_lines)
        if one.info.has_reservations:
            sold = await inventory.consume_for_order(conn, tenant_id, one.info.id, stock_lines, left)
            if sold is not None:
                raise sold_out(_title_of(priced, sold.variant_id))
            continue
        for line in stock_lines:
            earlier = wanted.get(line.variant_id)
            wanted[line.variant_id] = line if earlier is None else dataclasses.replace(earlier, quantity=earlier.quantity + line.quantity)
    if wanted:
        sold = await inventory.consume_for_order(conn, tenant_id, None, list(wanted.values()), left)
        if sold is not None:
            raise sold_out(_title_of(priced, sold.variant_id))
    sold_out_products = await inventory.sold_out_products(conn, tenant_id, every_line, left)
    if sold_out_products:
        await inventory.refresh_availability(conn, tenant_id, sold_out_products)
        effects.purge(tenant_id, *(cache_tags.product_tag(tenant_id, product_id) for product_id in sorted(set(sold_out_products))))


def _title_of(priced: list[_Priced], variant_id: int) -> str:
    return next(line.title for one in priced for line in one.info.lines if line.variant_id == variant_id)


def _order_row(one: _Priced, number: str, now) -> dict:
    info, totals, placement = one.info, one.totals, one.placement
    return dict(
        tenant_id=info.tenant_id, number=number, email=info.email, currency=info.currency,
        subtotal_price=totals.subtotal, shipping_price=totals.shipping, tax_price=totals.tax,
        discount_price=totals.discount, total_price=totals.total, refunded_price=Decimal(0), taxes_included=totals.taxes_included,
        financial_status="pending", fulfillment_status="unfulfilled", source="checkout",
        shipping_address=info.address.as_dict(), shipping_method=info.shipping_rate.name,
        discount_code=one.discount.code if one.discount else None, payment_provider=placement.provider,
        checkout_id=info.id, idempotency_key=placement.key, request_fingerprint=placement.fingerprint,
        created_at=now, updated_at=now,
    )


def _line_row(tenant_id: int, order_id: int, position: int, line, priced) -> dict:
    return {
        "tenant_id": tenant_id, "order_id": order_id, "position": position, "variant_id": line.variant_id,
        "product_id": line.product_id, "title": line.title, "variant_title": line.variant_title, "sku": line.sku,
        "quantity": line.quantity, "unit_price": priced.unit_price, "discount_amount": priced.discount,
        "tax_amount": priced.tax, "total_price": priced.total, "is_stock_tracked": line.is_tracked,
        "fulfilled_quantity": 0, "refunded_quantity": 0,
    }


async def _insert_orders(conn, rows: list[dict]) -> list[int]:
    """The orders' rows in one statement, and their new ids in the rows' order (by their numbers, unique per tenant)."""
    try:
        return await insert_returning_ids(conn, orders, rows, key="number")
    except IntegrityError:  # the same key, placed a moment ago (or before) from another cart, or twice in the batch
        # No savepoint around the insert (two statements on MySQL): the CheckoutError rolls the whole transaction
        # back anyway (a batch is then placed one by one, and only the key's second use is refused).
        raise CheckoutError(
            CheckoutErrorCode.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key was already used to place a different order",
            field="Idempotency-Key", kind=ErrorKind.CONFLICT,
        ) from None


def _after_commit_of(services: Services, one: _Priced, order_id: int) -> None:
    placement, info, totals = one.placement, one.info, one.totals
    purchase_lines = [PurchaseLine(line.product_id, line.variant_id, line.quantity, priced.total) for line, priced in zip(info.lines, totals.lines)]
    placement.effects.call(
        lambda: emit_purchase(
            services, placement.tenant_id, order_id=str(order_id), currency=info.currency, lines=purchase_lines,
            shopper=placement.shopper, store_host=placement.store_host,
        )
    )
    if placement.after_commit is not None:
        callback = placement.after_commit
        placement.effects.call(lambda: callback(order_id))


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

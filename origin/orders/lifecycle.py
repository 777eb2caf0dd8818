"""What happens to an order after it is placed: paid, cancelled, fulfilled, refunded. Each is one ``do_*`` action.

State changes are conditional UPDATEs on the status they start from, so the second of two
racing writers changes nothing:

- ``settle_payment`` (the redirect back from the provider *and* its webhook call it):
  ``payments.status pending -> succeeded`` only ``WHERE status = 'pending'``; whoever
  comes second is a no-op, and the order turns paid once;
- ``do_mark_paid`` (manual payments) is the same transition, by the merchant;
- ``do_cancel_order`` gives tracked stock back once (``cancelled_at IS NULL``);
- ``do_refund_order`` asks the provider first, outside any transaction, with the refund
  request's own idempotency key, then records it; a replayed key returns the same refund.

Financial status: pending -> paid -> partially_refunded -> refunded; pending -> voided
(cancelled before payment). Fulfillment: unfulfilled -> partially_fulfilled -> fulfilled.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from edge import tags as cache_tags
from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.orders import inventory
from origin.orders.emails import queue_order_email
from origin.orders.errors import OrderError, OrderErrorCode
from origin.orders.records import Order, add_event, select_order, select_refund_by_key
from origin.orders.tables import fulfillments, order_events, order_lines, orders, payments, refunds
from origin.outbox.templates import EmailTemplate
from origin.payments.errors import PaymentError, PaymentErrorCode
from origin.payments.providers import PaymentOutcome
from origin.payments.stripe import providers_of
from origin.services import Services
from origin.tenancy.models import CURRENCY_DIGITS


def _not_found() -> OrderError:
    return OrderError(OrderErrorCode.NOT_FOUND, "there is no such order in this shop", kind=ErrorKind.NOT_FOUND)


async def require_order(conn, tenant_id: int, order_id: int) -> Order:
    order = await select_order(conn, tenant_id, order_id)
    if order is None:
        raise _not_found()
    return order


async def _mark_paid(
    conn, effects, services: Services, tenant_id: int, payment_id: int, order_id: int, *, provider_payment_id: str | None, message: str
) -> bool:
    """The one conditional transition pending -> succeeded; True for the writer that made it."""
    moved = await conn.execute(
        payments.update()
        .where(payments.c.tenant_id == tenant_id, payments.c.id == payment_id, payments.c.status == "pending")
        .values(status="succeeded", provider_payment_id=provider_payment_id, updated_at=utcnow())
    )
    if moved.rowcount != 1:
        return False
    await conn.execute(
        orders.update()
        .where(orders.c.tenant_id == tenant_id, orders.c.id == order_id, orders.c.financial_status.in_(("pending", "authorized")))
        .values(financial_status="paid", updated_at=utcnow())
    )
    await add_event(conn, tenant_id, order_id, "paid", message, {"payment_id": payment_id, "provider_payment_id": provider_payment_id})
    await queue_order_email(conn, effects, services, tenant_id, order_id, EmailTemplate.PAYMENT_RECEIVED, f"order:{order_id}:paid")
    return True


@dataclass(frozen=True)
class Settlement:
    tenant_id: int
    order_id: int
    changed: bool  # False: already settled (a replayed webhook, the redirect after the webhook)


async def settle_payment(services: Services, provider_name: str, outcome: PaymentOutcome) -> Settlement | None:
    """Record a provider's verified outcome for the payment it names; None when no payment has that reference."""
    async with transaction(services) as (conn, effects):
        row = (
            await conn.execute(
                sa.select(payments).where(payments.c.provider == provider_name, payments.c.provider_reference == outcome.reference)
            )
        ).first()
        if row is None:
            return None
        if not outcome.is_paid:
            return Settlement(row.tenant_id, row.order_id, False)
        if outcome.amount is not None and (outcome.amount != row.amount or (outcome.currency or "").upper() != row.currency):
            # Never mark an order paid for another amount than it costs: keep it pending, say why on the timeline.
            await add_event(conn, row.tenant_id, row.order_id, "payment_mismatch", f"{provider_name} reported {outcome.amount} {outcome.currency}, the order costs {row.amount} {row.currency}")
            return Settlement(row.tenant_id, row.order_id, False)
        changed = await _mark_paid(conn, effects, services, row.tenant_id, row.id, row.order_id, provider_payment_id=outcome.payment_id, message=f"Paid through {provider_name}")
        if not changed and row.status == "voided":
            await _note_paid_after_void(conn, row.tenant_id, row.order_id, provider_name)
        return Settlement(row.tenant_id, row.order_id, changed)


async def _note_paid_after_void(conn, tenant_id: int, order_id: int, provider_name: str) -> None:
    """The provider took money for an order already voided: say so on the timeline (once), for the merchant to refund.

    The unpaid-order sweep expires the session at the provider before it voids, so this is
    only reachable when no session had been recorded yet or the merchant cancelled a
    pending card order by hand; the order is never silently left with money on it.
    """
    noted = (
        await conn.execute(
            sa.select(order_events.c.id).where(
                order_events.c.tenant_id == tenant_id, order_events.c.order_id == order_id, order_events.c.kind == "paid_after_void"
            )
        )
    ).first()
    if noted is None:
        await add_event(conn, tenant_id, order_id, "paid_after_void", f"{provider_name} reports a payment for this voided order: refund it")


async def do_mark_paid(services: Services, tenant_id: int, order_id: int) -> Order:
    async with transaction(services) as (conn, effects):
        order = await require_order(conn, tenant_id, order_id)
        if order.cancelled_at is not None or order.financial_status != "pending":
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, f"only a pending order can be marked paid (this one is {order.financial_status})", kind=ErrorKind.CONFLICT)
        pending = [payment for payment in order.payments if payment.status == "pending"]
        if not pending or pending[-1].provider != "manual":
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, "only a manual payment can be marked paid; card payments settle themselves", kind=ErrorKind.CONFLICT)
        await _mark_paid(conn, effects, services, tenant_id, pending[-1].id, order_id, provider_payment_id=None, message="Marked as paid by the merchant")
        return await require_order(conn, tenant_id, order_id)


async def _restock(conn, effects, tenant_id: int, quantities: Sequence[tuple[int | None, int | None, int]]) -> None:
    """Give back (variant, product, quantity) for tracked lines; refresh availability and purge their pages."""
    product_ids = []
    for variant_id, product_id, quantity in quantities:
        if variant_id is None or quantity <= 0:
            continue
        await inventory.give_back(conn, tenant_id, variant_id, quantity)
        if product_id is not None:
            product_ids.append(product_id)
    if product_ids:
        await inventory.refresh_availability(conn, tenant_id, product_ids)
        effects.purge(tenant_id, *(cache_tags.product_tag(tenant_id, product_id) for product_id in sorted(set(product_ids))))


async def do_cancel_order(services: Services, tenant_id: int, order_id: int, *, restock: bool = True, reason: str = "") -> Order:
    """Cancel an unfulfilled order; tracked stock goes back once. A paid order must be refunded first.

    The UPDATE is conditional on the financial status read at the start as well as on
    ``cancelled_at IS NULL``: a payment settled between that read and the write (a webhook
    racing the unpaid-order sweep) makes it change nothing, so a paid order is never voided.
    """
    async with transaction(services) as (conn, effects):
        order = await require_order(conn, tenant_id, order_id)
        if order.financial_status not in ("pending", "refunded", "voided"):
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, "refund a paid order before cancelling it", kind=ErrorKind.CONFLICT)
        if any(line.fulfilled_quantity for line in order.lines):
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, "a shipped order cannot be cancelled", kind=ErrorKind.CONFLICT)
        if not await cancel_order(conn, effects, tenant_id, order, restock=restock, message=reason or "Order cancelled", expected_financial_status=order.financial_status):
            # A locking read: the row as committed now, whatever the isolation level and the snapshot.
            current = (
                await conn.execute(sa.select(orders.c.cancelled_at).where(orders.c.tenant_id == tenant_id, orders.c.id == order_id).with_for_update())
            ).one()
            if current.cancelled_at is not None:
                return await require_order(conn, tenant_id, order_id)  # cancelled already: the second cancel changes nothing
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, "the order was paid while it was being cancelled; reload it", kind=ErrorKind.CONFLICT)
        return await require_order(conn, tenant_id, order_id)


def _parse_lines(order: Order, requested: Sequence[tuple[int, int]], *, remaining) -> list[tuple[object, int]]:
    by_id = {line.id: line for line in order.lines}
    chosen = []
    seen = set()
    for line_id, quantity in requested:
        line = by_id.get(line_id)
        if line is None or line_id in seen:
            raise OrderError(OrderErrorCode.INVALID_LINES, f"line {line_id} is not a line of this order (or is named twice)", field="lines")
        if quantity <= 0 or quantity > remaining(line):
            raise OrderError(OrderErrorCode.INVALID_LINES, f"line {line_id}: quantity must be from 1 to {remaining(line)}", field="lines")
        seen.add(line_id)
        chosen.append((line, quantity))
    return chosen


async def do_fulfil_order(
    services: Services, tenant_id: int, order_id: int, lines: Sequence[tuple[int, int]] | None, *, tracking_number: str | None, tracking_url: str | None, carrier: str | None
) -> Order:
    """Ship some or all remaining lines (None: everything left), with tracking."""
    async with transaction(services) as (conn, effects):
        order = await require_order(conn, tenant_id, order_id)
        if order.cancelled_at is not None:
            raise OrderError(OrderErrorCode.INVALID_TRANSITION, "a cancelled order cannot be fulfilled", kind=ErrorKind.CONFLICT)
        remaining = lambda line: line.quantity - line.fulfilled_quantity - line.refunded_quantity  # noqa: E731
        if lines is None:
            lines = [(line.id, remaining(line)) for line in order.lines if remaining(line) > 0]
            if not lines:
                raise OrderError(OrderErrorCode.INVALID_TRANSITION, "everything in this order is already fulfilled", kind=ErrorKind.CONFLICT)
        chosen = _parse_lines(order, lines, remaining=remaining)
        await record_fulfillment(conn, effects, services, tenant_id, order_id, chosen, tracking_number=tracking_number, tracking_url=tracking_url, carrier=carrier)
        return await require_order(conn, tenant_id, order_id)


async def do_refund_order(
    services: Services, tenant_id: int, order_id: int, request_key: str, *, lines: Sequence[tuple[int, int]] | None, restock: bool
) -> Order:
    """Refund by line (their share of the total, tax included) or in full (lines None), through the provider.

    The provider is asked first, outside any transaction, with ``refund-<tenant>-<key>``
    as its idempotency key; the refund row then records it, unique per (tenant, key):
    a replayed request returns the order as it is, with no second refund anywhere.
    """
    async with services.db.connect() as conn:
        if await select_refund_by_key(conn, tenant_id, request_key) is not None:
            return await require_order(conn, tenant_id, order_id)
        order = await require_order(conn, tenant_id, order_id)
    paid = [payment for payment in order.payments if payment.status == "succeeded"]
    if order.financial_status not in ("paid", "partially_refunded") or not paid:
        raise OrderError(OrderErrorCode.INVALID_TRANSITION, "only a paid order can be refunded", kind=ErrorKind.CONFLICT)
    payment = paid[-1]
    refundable = lambda line: line.quantity - line.refunded_quantity  # noqa: E731  (shipped lines can be refunded too)
    if lines is None:
        chosen = [(line, line.quantity - line.refunded_quantity) for line in order.lines if line.quantity > line.refunded_quantity]
        amount = order.total_price - (order.refunded_price or Decimal(0))
    else:
        chosen = _parse_lines(order, lines, remaining=refundable)
        amount = sum((_line_share(line, quantity, order.currency) for line, quantity in chosen), Decimal(0))
        if sum(q for _, q in chosen) + sum(line.refunded_quantity for line in order.lines) == sum(line.quantity for line in order.lines):
            amount = order.total_price - (order.refunded_price or Decimal(0))  # the last refund also returns shipping
    if amount <= 0:
        raise OrderError(OrderErrorCode.INVALID_AMOUNT, "nothing is left to refund on this order", kind=ErrorKind.CONFLICT)
    provider = providers_of(services).get(payment.provider)
    if provider is None:
        raise PaymentError(PaymentErrorCode.NOT_CONFIGURED, "this order's payment method is not offered any more")
    result = await provider.refund(
        payment_id=payment.provider_payment_id, amount=amount, currency=order.currency, idempotency_key=f"refund-{tenant_id}-{request_key}"[:255]
    )
    async with transaction(services) as (conn, effects):
        # The amounts are added to what the row says now (not to ``order``, read before the provider call),
        # so two different refunds racing each other both count.
        await record_refund(
            conn, effects, services, tenant_id, order_id, payment.id, amount, chosen,
            restock=restock, provider_reference=result.reference, request_key=request_key,
        )
        return await require_order(conn, tenant_id, order_id)


def _line_share(line, quantity: int, currency: str) -> Decimal:
    """What ``quantity`` of the line cost the shopper: its total (after discount, taxes in) pro rata, in minor units."""
    exponent = Decimal(1).scaleb(-CURRENCY_DIGITS.get(currency, 2))
    return (line.total_price * quantity / line.quantity).quantize(exponent, rounding=ROUND_HALF_UP)


# The state transitions themselves, inside the caller's transaction. The do_* actions above (a merchant's
# request, with its guards) and Shopify's orders/* webhooks (origin.orders.actions.apply_external_order,
# where Shopify already decided) both move an order through these, so each change of state has one
# implementation: one conditional UPDATE, one timeline event, one email dedupe key.


async def mark_authorized(conn, tenant_id: int, order_id: int, *, message: str) -> bool:
    """pending -> authorized (the money is held, not yet taken); True for the writer that made it."""
    moved = await conn.execute(
        orders.update()
        .where(orders.c.tenant_id == tenant_id, orders.c.id == order_id, orders.c.financial_status == "pending", orders.c.cancelled_at.is_(None))
        .values(financial_status="authorized", updated_at=utcnow())
    )
    if moved.rowcount != 1:
        return False
    await add_event(conn, tenant_id, order_id, "authorized", message)
    return True


async def mark_payment_paid(
    conn, effects, services: Services, tenant_id: int, payment_id: int, order_id: int, *, provider_payment_id: str | None, message: str
) -> bool:
    """The payment's pending -> succeeded (and the order's pending/authorized -> paid), once."""
    return await _mark_paid(conn, effects, services, tenant_id, payment_id, order_id, provider_payment_id=provider_payment_id, message=message)


async def cancel_order(
    conn, effects, tenant_id: int, order: Order, *, restock: bool, message: str = "Order cancelled",
    expected_financial_status: str | None = None,
) -> bool:
    """Stamp ``cancelled_at`` once; a pending order is voided, its pending payments too; tracked stock back if asked.

    With ``expected_financial_status`` nothing changes unless the order still has it, so a payment
    settled since the caller read the order is never voided (False, as for a second cancel).
    """
    unchanged = () if expected_financial_status is None else (orders.c.financial_status == expected_financial_status,)
    moved = await conn.execute(
        orders.update()
        .where(orders.c.tenant_id == tenant_id, orders.c.id == order.id, orders.c.cancelled_at.is_(None), *unchanged)
        .values(
            cancelled_at=utcnow(),
            financial_status=sa.case((orders.c.financial_status.in_(("pending", "authorized")), "voided"), else_=orders.c.financial_status),
            updated_at=utcnow(),
        )
    )
    if moved.rowcount != 1:
        return False
    await conn.execute(
        payments.update()
        .where(payments.c.tenant_id == tenant_id, payments.c.order_id == order.id, payments.c.status.in_(("pending", "authorized")))
        .values(status="voided", updated_at=utcnow())
    )
    restocked = [(line.variant_id, line.product_id, line.quantity - line.refunded_quantity) for line in order.lines if line.is_stock_tracked]
    if restock and restocked:
        # Lines a refund already restocked are not counted twice; untracked lines (and every line of an
        # order from Shopify, whose stock Shopify keeps) were never decremented, so never given back.
        await _restock(conn, effects, tenant_id, restocked)
    await add_event(conn, tenant_id, order.id, "cancelled", message + (", stock restocked" if restock and restocked else ""))
    return True


async def record_fulfillment(
    conn, effects, services: Services, tenant_id: int, order_id: int, chosen: Sequence[tuple[object, int]], *,
    tracking_number: str | None, tracking_url: str | None, carrier: str | None, shopify_gid: str | None = None,
) -> int:
    """Ship ``chosen`` (line, quantity): each line by a conditional UPDATE, then the fulfillment row and status."""
    for line, quantity in chosen:
        moved = await conn.execute(
            order_lines.update()
            .where(
                order_lines.c.tenant_id == tenant_id, order_lines.c.id == line.id,
                order_lines.c.fulfilled_quantity + order_lines.c.refunded_quantity + quantity <= order_lines.c.quantity,
            )
            .values(fulfilled_quantity=order_lines.c.fulfilled_quantity + quantity)
        )
        if moved.rowcount != 1:
            raise OrderError(OrderErrorCode.INVALID_LINES, f"line {line.id} changed meanwhile; reload the order", field="lines", kind=ErrorKind.CONFLICT)
    inserted = await conn.execute(
        fulfillments.insert().values(
            tenant_id=tenant_id, order_id=order_id, lines=[{"line_id": line.id, "quantity": quantity} for line, quantity in chosen],
            tracking_number=tracking_number, tracking_url=tracking_url, carrier=carrier, created_at=utcnow(), shopify_gid=shopify_gid,
        )
    )
    await _refresh_fulfillment_status(conn, tenant_id, order_id)
    await add_event(conn, tenant_id, order_id, "fulfilled", f"{sum(q for _, q in chosen)} item(s) shipped" + (f", tracking {tracking_number}" if tracking_number else ""))
    fulfillment_id = int(inserted.inserted_primary_key[0])
    await queue_order_email(
        conn, effects, services, tenant_id, order_id, EmailTemplate.ORDER_SHIPPED, f"fulfillment:{fulfillment_id}",
        tracking_number=tracking_number or "", tracking_url=tracking_url or "",
    )
    return fulfillment_id


async def _refresh_fulfillment_status(conn, tenant_id: int, order_id: int) -> None:
    updated = await require_order(conn, tenant_id, order_id)
    shipped = sum(line.fulfilled_quantity for line in updated.lines)
    # A shipped line refunded afterwards (a return) counts as done, not as less than nothing left.
    left = sum(max(0, line.quantity - line.fulfilled_quantity - line.refunded_quantity) for line in updated.lines)
    status = "fulfilled" if left == 0 and shipped > 0 else "partially_fulfilled" if shipped > 0 else "unfulfilled"
    await conn.execute(orders.update().where(orders.c.tenant_id == tenant_id, orders.c.id == order_id).values(fulfillment_status=status, updated_at=utcnow()))


async def record_refund(
    conn, effects, services: Services, tenant_id: int, order_id: int, payment_id: int | None, amount: Decimal,
    chosen: Sequence[tuple[object, int]], *, restock: bool, provider_reference: str | None, request_key: str,
) -> int | None:
    """Record a refund the provider made, once per (tenant, request_key); None when that key is recorded already."""
    try:
        async with conn.begin_nested():
            inserted = await conn.execute(
                refunds.insert().values(
                    tenant_id=tenant_id, order_id=order_id, payment_id=payment_id, amount=amount,
                    lines=[{"line_id": line.id, "quantity": quantity} for line, quantity in chosen], restock=restock,
                    provider_reference=provider_reference, request_key=request_key, created_at=utcnow(),
                )
            )
    except IntegrityError:  # the same request, a moment ago (or the same Shopify refund, delivered again)
        return None
    for line, quantity in chosen:
        await conn.execute(
            order_lines.update().where(order_lines.c.tenant_id == tenant_id, order_lines.c.id == line.id).values(refunded_quantity=order_lines.c.refunded_quantity + quantity)
        )
    order = await require_order(conn, tenant_id, order_id)
    refunded = (order.refunded_price or Decimal(0)) + amount
    # A refund of nothing (Shopify records a line given back without money) changes quantities, not the status.
    status = order.financial_status if refunded <= 0 else "refunded" if refunded >= order.total_price else "partially_refunded"
    await conn.execute(orders.update().where(orders.c.tenant_id == tenant_id, orders.c.id == order_id).values(refunded_price=refunded, financial_status=status, updated_at=utcnow()))
    if chosen:  # refunding what was left unshipped completes a partly shipped order
        await _refresh_fulfillment_status(conn, tenant_id, order_id)
    if payment_id is not None:
        await conn.execute(payments.update().where(payments.c.id == payment_id).values(refunded_amount=payments.c.refunded_amount + amount, updated_at=utcnow()))
    if restock:
        await _restock(conn, effects, tenant_id, [(line.variant_id, line.product_id, quantity) for line, quantity in chosen if line.is_stock_tracked])
    await add_event(conn, tenant_id, order_id, "refunded", f"Refunded {amount} {order.currency}", {"lines": [[line.id, quantity] for line, quantity in chosen]})
    refund_id = int(inserted.inserted_primary_key[0])
    await queue_order_email(conn, effects, services, tenant_id, order_id, EmailTemplate.ORDER_REFUNDED, f"refund:{refund_id}", refund_amount=amount)
    return refund_id

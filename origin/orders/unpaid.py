"""Orders whose online payment was never made: expire it at the provider, void the order, restock (issue 15).

An order placed with Stripe holds its stock (taken at placement) while the shopper is on
Stripe's page. A shopper who never pays would hold it for good, so a scheduled sweep takes
every pending online payment older than ``unpaid_order_timeout_seconds`` and

1. asks the provider to expire it, outside any transaction (no row lock waits on the
   network). The provider decides the race with a shopper paying at that very moment: an
   expired Checkout Session can never be paid afterwards, a session paid first can no longer
   be expired, and the outcome says which of the two happened;
2. paid first: settles it through the one conditional transition the redirect and the
   webhook use (``settle_payment``): the order turns paid, nothing is voided;
3. expired: cancels the order (``do_cancel_order``: voided, stock back once, by an UPDATE
   conditional on ``cancelled_at IS NULL`` and on the status still being pending). The
   ``checkout.session.expired`` event Stripe then sends runs the same cancel and changes
   nothing, and so does a second sweep running at the same time.

A provider that cannot be reached leaves the order as it is for the next sweep: never void
what might have been paid. Manual payments (bank transfer, cash on delivery) are never
swept; the merchant decides how long to wait for them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import sqlalchemy as sa

from origin.db import utcnow
from origin.orders.errors import OrderError
from origin.orders.lifecycle import do_cancel_order, require_order, settle_payment
from origin.orders.records import Order
from origin.orders.tables import orders, payments
from origin.payments.errors import PaymentError, PaymentErrorCode
from origin.payments.providers import OFFLINE_PROVIDERS
from origin.payments.stripe import providers_of
from origin.services import Services

log = logging.getLogger(__name__)

SWEEP_BATCH = 100


@dataclass(frozen=True)
class UnpaidSweep:
    voided: int  # expired at the provider (or never opened there), the order cancelled and restocked
    paid: int  # the shopper paid before the expiry: settled instead
    kept: int  # the provider did not answer, or the order changed meanwhile: the next sweep looks again


@dataclass(frozen=True)
class OverduePayment:
    tenant_id: int
    order_id: int
    provider: str
    reference: str | None


async def select_overdue_payments(conn, placed_before: dt.datetime, limit: int = SWEEP_BATCH) -> list[OverduePayment]:
    """Pending online payments of live orders placed before the cutoff, every tenant (global on purpose: the sweep)."""
    rows = await conn.execute(
        sa.select(payments.c.tenant_id, payments.c.order_id, payments.c.provider, payments.c.provider_reference)
        .select_from(payments.join(orders, sa.and_(orders.c.id == payments.c.order_id, orders.c.tenant_id == payments.c.tenant_id)))
        .where(
            payments.c.status == "pending",
            payments.c.created_at <= placed_before,
            payments.c.provider.not_in(OFFLINE_PROVIDERS),
            orders.c.cancelled_at.is_(None),
            orders.c.financial_status == "pending",
        )
        .order_by(payments.c.created_at, payments.c.id)
        .limit(limit)
    )
    return [OverduePayment(row.tenant_id, row.order_id, row.provider, row.provider_reference) for row in rows]


async def do_expire_unpaid_orders(services: Services, *, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> UnpaidSweep:
    """The scheduled task's action: every online payment not made in time is expired, its order voided and restocked."""
    timeout = dt.timedelta(seconds=services.settings.unpaid_order_timeout_seconds)
    async with services.db.connect() as conn:
        overdue = await select_overdue_payments(conn, (now or utcnow()) - timeout, limit)
    voided = paid = kept = 0
    minutes = services.settings.unpaid_order_timeout_seconds // 60
    for payment in overdue:
        provider = providers_of(services).get(payment.provider)
        if provider is None:  # the provider is not configured in this process: it cannot expire anything
            kept += 1
            continue
        if payment.reference is not None:  # None: no session was ever opened (the call failed); nothing to expire
            try:
                was_paid = await _expire_or_settle(services, payment.provider, payment.reference)
            except PaymentError as error:
                log.warning("unpaid sweep: could not expire %s payment of order %s: %s", payment.provider, payment.order_id, error.message)
                kept += 1
                continue
            if was_paid:
                paid += 1
                continue
        try:
            await do_cancel_order(
                services, payment.tenant_id, payment.order_id,
                reason=f"Not paid within {minutes} minutes: the payment was expired at {payment.provider} and the order voided",
            )
        except OrderError as error:  # paid (or shipped) meanwhile: the expiry no longer applies
            log.info("unpaid sweep: order %s kept: %s", payment.order_id, error.message)
            kept += 1
            continue
        voided += 1
    return UnpaidSweep(voided=voided, paid=paid, kept=kept)


async def _expire_or_settle(services: Services, provider_name: str, reference: str) -> bool:
    """Expire the payment at its provider, outside any transaction; True when the shopper paid first (then settled).

    Raises PaymentError when the provider cannot say: the caller must leave the order as it is.
    """
    provider = providers_of(services).get(provider_name)
    if provider is None:
        raise PaymentError(PaymentErrorCode.NOT_CONFIGURED, f"the {provider_name} payment cannot be expired: {provider_name} is not configured here")
    outcome = await provider.expire(reference)
    if outcome.is_paid:
        await settle_payment(services, provider_name, outcome)
        return True
    return False


async def do_cancel_unpaid_order(services: Services, tenant_id: int, order_id: int, *, restock: bool = True, reason: str = "") -> Order:
    """The merchant's cancel: an open online payment is expired at the provider first, then ``do_cancel_order``.

    Without the expiry a shopper could still pay a cancelled order on Stripe's page (its Checkout
    Session stays open for a day). As in the sweep: the provider decides the race with a shopper
    paying at that moment; paid first, the payment is settled and the cancel is refused (409, refund
    it instead); a provider that cannot be reached leaves the order as it is (the PaymentError).
    """
    async with services.db.connect() as conn:
        order = await require_order(conn, tenant_id, order_id)
    if order.cancelled_at is None and order.financial_status == "pending":
        for payment in order.payments:
            if payment.status == "pending" and payment.provider not in OFFLINE_PROVIDERS and payment.provider_reference is not None:
                await _expire_or_settle(services, payment.provider, payment.provider_reference)
    return await do_cancel_order(services, tenant_id, order_id, restock=restock, reason=reason)

"""The checkout's steps before payment: contact, address, shipping method, discount code, and the hold.

Each step re-reads the checkout (fetch.py) so prices and stock are checked again at
every step. ``do_reserve`` is the step into payment: it holds the stock for
RESERVATION_MINUTES (origin/orders/inventory.py) and records ``begin_checkout``.
"""

from __future__ import annotations

from origin.numbers import parse_bounded_int
from typing import Mapping

from origin.analytics.emit import emit_begin_checkout
from origin.checkout.addresses import parse_address
from origin.checkout.carts import OPEN
from origin.checkout.errors import CheckoutError, CheckoutErrorCode, sold_out
from origin.checkout.fetch import CheckoutInfo, fetch_checkout, select_discount
from origin.checkout.placement import EMAIL, check_ready
from origin.checkout.tables import checkouts
from origin.db import utcnow
from origin.errors import ErrorKind
from origin.invalidation import transaction
from origin.orders import inventory
from origin.services import Services


async def require_open_checkout(conn, tenant_id: int, token: str | None) -> CheckoutInfo:
    info = await fetch_checkout(conn, tenant_id, token) if token else None
    if info is None:
        raise CheckoutError(CheckoutErrorCode.NOT_FOUND, "there is no such cart in this shop", kind=ErrorKind.NOT_FOUND)
    if info.status != OPEN:
        raise CheckoutError(CheckoutErrorCode.COMPLETED, "an order was already placed from this cart", kind=ErrorKind.CONFLICT)
    return info


async def do_update_checkout(services: Services, tenant_id: int, token: str | None, form: Mapping[str, object]) -> CheckoutInfo:
    """Apply whichever of email, address fields, shipping_rate_id and discount_code the form carries."""
    async with transaction(services) as (conn, effects):
        info = await require_open_checkout(conn, tenant_id, token)
        values: dict[str, object] = {}
        if "email" in form:
            email = str(form.get("email") or "").strip()
            if not EMAIL.match(email) or len(email) > 255:
                raise CheckoutError(CheckoutErrorCode.INVALID_EMAIL, "enter a valid email address", field="email")
            values["email"] = email
        if "country" in form:
            address = parse_address(form)
            values["shipping_address"] = address.as_dict()
            if info.address is None or info.address.country != address.country:
                values["shipping_rate_id"] = None  # the rates on offer depend on the country
        if "shipping_rate_id" in form:
            raw = str(form.get("shipping_rate_id") or "")
            rate_ids = {rate.id for rate in info.shipping_rates}
            if parse_bounded_int(raw) not in rate_ids:
                raise CheckoutError(CheckoutErrorCode.NO_SHIPPING_RATE, "choose one of the shipping methods offered", field="shipping_rate_id")
            values["shipping_rate_id"] = int(raw)
        if "discount_code" in form:
            code = str(form.get("discount_code") or "").strip().upper()
            if code:
                discount = await select_discount(conn, tenant_id, code) if len(code) <= 64 else None
                if discount is None:
                    raise CheckoutError(CheckoutErrorCode.UNKNOWN_DISCOUNT, "that discount code does not exist", field="discount_code")
                problem = discount.problem_at(utcnow())
                if problem is not None:
                    raise CheckoutError(CheckoutErrorCode.DISCOUNT_NOT_USABLE, problem, field="discount_code")
            values["discount_code"] = code or None
        if values:
            await conn.execute(checkouts.update().where(checkouts.c.tenant_id == tenant_id, checkouts.c.id == info.id).values(updated_at=utcnow(), **values))
        updated = await fetch_checkout(conn, tenant_id, info.token)
        if updated.shipping_rate_id is not None and updated.shipping_rate is None:
            raise CheckoutError(CheckoutErrorCode.NO_SHIPPING_RATE, "that shipping method does not ship to this address", field="shipping_rate_id")
        return updated


async def do_reserve(services: Services, tenant_id: int, token: str | None, *, shopper=None, store_host: str = "") -> CheckoutInfo:
    """Hold the cart's stock while the shopper pays (replaces an earlier hold of this checkout)."""
    async with transaction(services) as (conn, effects):
        info = await require_open_checkout(conn, tenant_id, token)
        now = utcnow()
        check_ready(info, now)
        sold = await inventory.reserve(conn, tenant_id, info.id, [line.stock_line() for line in info.lines], now)
        if sold is not None:
            raise sold_out(next(line.title for line in info.lines if line.variant_id == sold.variant_id))
        totals = info.totals(now)
        effects.call(
            lambda: emit_begin_checkout(
                services, tenant_id, checkout_id=str(info.id), value=totals.total, currency=info.currency, shopper=shopper, store_host=store_host
            )
        )
        return info


async def do_release_expired_reservations(services: Services) -> int:
    """The scheduled task's action: give back every expired hold; how many were released."""
    async with transaction(services) as (conn, effects):
        released = await inventory.release_expired_reservations(conn, utcnow())
        for tenant_id in sorted({tenant for tenant, _ in released}):
            effects.purge(tenant_id)  # availability may have come back: retire the tenant's cached pages
        return len(released)

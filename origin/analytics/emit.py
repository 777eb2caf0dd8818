"""Server-side events, for code that knows better than the browser (issue 7).

Cart and checkout code call these after their own write commits. Event ids
are derived from what happened (``purchase:<order>:<line>``), so a retried
request, or the thank-you page's beacon sending the same id, counts once.

Emitting never fails the caller's request: a queue that is full or away is
logged and the event is lost, because a cart or an order matters more than its
analytics row (the function returns False then).

Who is kept follows :func:`origin.analytics.privacy.admit`, the rule the
beacon uses too: a bot or a shopper who refuses tracking (DNT / GPC) yields no
add-to-cart or checkout row, as the docs promise; a purchase is an order that
exists, so it is still written (revenue must match the orders) but with visitor
and session 0, as is any event without a shopper (a webhook-imported order):
no identifier derived from the person is written.

These functions are the only writers of ``purchase`` rows: the beacon cannot
send one (origin/analytics/events.py), so revenue, orders and AOV come from
orders alone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from origin.analytics.events import SERVER_PURCHASE_ID_PREFIX, IncomingEvent
from origin.analytics.intake import ANONYMOUS_SESSION, build_row, resolve_session
from origin.analytics.privacy import Admission, Shopper, admit
from origin.analytics.queue import queue_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurchaseLine:
    product_id: int
    variant_id: int
    quantity: int
    value: Decimal  # the line total in the order's currency


async def _publish(services, rows: list[dict]) -> bool:
    try:
        await queue_for(services).publish(rows)
    except Exception as error:  # never let analytics fail a cart or an order (see the module docstring)
        log.warning("analytics: dropping %d server-side events (%s: %s)", len(rows), type(error).__name__, error)
        return False
    return True


async def _session_for(services, tenant_id: int, shopper: Shopper | None, store_host: str, name: str):
    """The event's session, ANONYMOUS_SESSION, or None when :func:`admit` drops it."""
    admission = admit(name, shopper)
    if admission is Admission.DROPPED:
        return None
    if admission is Admission.ANONYMOUS or shopper is None:
        return ANONYMOUS_SESSION
    try:
        return await resolve_session(services, tenant_id, shopper, None, store_host)
    except Exception as error:  # the cache is away: keep the event, without a visitor (never fail the caller)
        log.warning("analytics: no session for a server-side event (%s: %s)", type(error).__name__, error)
        return ANONYMOUS_SESSION


def _event(name: str, event_id: str, path: str, **props) -> IncomingEvent:
    return IncomingEvent(
        name=name, path=path, page_host="", referrer_host="", utm_source="", utm_medium="", utm_campaign="",
        event_id=event_id, **props,
    )


async def emit_add_to_cart(
    services,
    tenant_id: int,
    *,
    product_id: int,
    variant_id: int,
    quantity: int,
    value: Decimal,
    currency: str,
    event_id: str,
    shopper: Shopper | None = None,
    path: str = "/cart",
    store_host: str = "",
) -> bool:
    """``event_id`` names the cart change (e.g. ``cart:<cart id>:<line>:<n>``) so a retry counts once."""
    session = await _session_for(services, tenant_id, shopper, store_host, "add_to_cart")
    if session is None:
        return True  # a bot or a shopper who refuses tracking: nothing to record (not a failure)
    event = _event(
        "add_to_cart", event_id, path,
        product_id=product_id, variant_id=variant_id, quantity=quantity, value=Decimal(value), currency=currency,
    )
    return await _publish(services, [build_row(tenant_id, event, session, time.time())])


async def emit_purchase(
    services,
    tenant_id: int,
    *,
    order_id: str,
    currency: str,
    lines: list[PurchaseLine],
    shopper: Shopper | None = None,
    path: str = "/checkout/thank-you",
    store_host: str = "",
) -> bool:
    """One ``purchase`` row per order line, so top products get their revenue; orders count by order_id."""
    session = await _session_for(services, tenant_id, shopper, store_host, "purchase") or ANONYMOUS_SESSION
    now = time.time()
    rows = [
        build_row(
            tenant_id,
            _event(
                "purchase", f"{SERVER_PURCHASE_ID_PREFIX}{order_id}:{index}", path,
                product_id=line.product_id, variant_id=line.variant_id, quantity=line.quantity,
                value=Decimal(line.value), currency=currency, order_id=str(order_id),
            ),
            session,
            now,
        )
        for index, line in enumerate(lines)
    ]
    return await _publish(services, rows) if rows else True


async def emit_begin_checkout(
    services,
    tenant_id: int,
    *,
    checkout_id: str,
    value: Decimal,
    currency: str,
    shopper: Shopper | None = None,
    path: str = "/checkout",
    store_host: str = "",
) -> bool:
    """``checkout_started`` when a checkout reaches payment; the event id names the checkout, so once per checkout."""
    session = await _session_for(services, tenant_id, shopper, store_host, "checkout_started")
    if session is None:
        return True  # a bot or a shopper who refuses tracking: nothing to record (not a failure)
    event = _event("checkout_started", f"checkout:{checkout_id}", path, value=Decimal(value), currency=currency)
    return await _publish(services, [build_row(tenant_id, event, session, time.time())])

"""What the orders package takes and gives: plain, frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ExternalOrder:
    """An order placed elsewhere (Shopify), as its mapping built it; ``updated_at`` orders the writes."""

    gid: str  # stored as shopify_gid
    number: str
    email: str | None
    currency: str
    total_price: Decimal
    financial_status: str | None
    fulfillment_status: str | None
    updated_at: dt.datetime
    payload: dict[str, Any]  # the document as sent, JSON-safe (kept for the orders area to read)
    details: "ExternalOrderDetails | None" = None  # None: a header-only document (older callers, tests)


# What Shopify's order document says beyond the header, as facts to reconcile (issue 15, item 6). Each
# carries the GID it is matched by, so applying the same document twice, or an older one after a newer
# one, adds nothing.


@dataclass(frozen=True)
class ExternalOrderLine:
    gid: str  # the LineItem
    variant_gid: str | None  # matched to a synced variant when there is one
    product_gid: str | None
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_price: Decimal
    discount_amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class ExternalFulfillment:
    gid: str
    lines: tuple[tuple[str, int], ...]  # (line item GID, quantity)
    tracking_number: str | None
    tracking_url: str | None
    carrier: str | None


@dataclass(frozen=True)
class ExternalRefund:
    gid: str
    order_gid: str
    amount: Decimal  # what was given back: the successful refund transactions
    lines: tuple[tuple[str, int], ...]  # (line item GID, quantity); () for an amount-only refund


@dataclass(frozen=True)
class ExternalOrderDetails:
    """The rest of an order document: money split, lines, and the facts its state follows from."""

    subtotal_price: Decimal | None = None
    shipping_price: Decimal | None = None
    tax_price: Decimal | None = None
    discount_price: Decimal | None = None
    taxes_included: bool | None = None
    shipping_address: dict[str, str] | None = None
    shipping_method: str | None = None
    discount_code: str | None = None
    lines: tuple[ExternalOrderLine, ...] = ()
    is_paid: bool = False  # Shopify's financial_status says the money was taken (paid or refunded since)
    is_authorized: bool = False
    cancelled_at: dt.datetime | None = None
    fulfillments: tuple[ExternalFulfillment, ...] = ()
    refunds: tuple[ExternalRefund, ...] = ()

"""Request and response models for orders and the checkout rules (shipping rates, tax rates, discounts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from origin.orders.records import Order
from origin.web.seller.api.schemas.common import STRICT, PageQuery, PriceIn, PriceOut, ResourceId, Timestamp, format_price

FINANCIAL = Literal["pending", "authorized", "paid", "partially_refunded", "refunded", "voided"]
FULFILLMENT = Literal["unfulfilled", "partially_fulfilled", "fulfilled"]
MAX_LINES_PER_REQUEST = 250
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]


class OrderListQuery(PageQuery):
    financial_status: FINANCIAL | None = None
    fulfillment_status: FULFILLMENT | None = None
    email: Annotated[str, StringConstraints(max_length=255)] | None = None


class LineQuantity(BaseModel):
    model_config = STRICT

    line_id: ResourceId
    quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]


class CancelIn(BaseModel):
    """Cancel an unfulfilled order; `restock` gives tracked stock back (default true)."""

    model_config = STRICT

    restock: bool = True


class FulfilIn(BaseModel):
    """Ship `lines` (omit for everything not yet shipped), with tracking."""

    model_config = STRICT

    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=MAX_LINES_PER_REQUEST)] | None = None
    tracking_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] | None = None
    tracking_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    carrier: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)] | None = None


class RefundIn(BaseModel):
    """Refund `lines` (their share of the total) or, without lines, everything not yet refunded. Needs an Idempotency-Key."""

    model_config = STRICT

    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=MAX_LINES_PER_REQUEST)] | None = None
    restock: bool = True


class OrderLineOut(BaseModel):
    id: int
    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_price: PriceOut
    discount: PriceOut
    tax: PriceOut
    total: PriceOut
    fulfilled_quantity: int
    refunded_quantity: int


class OrderEventOut(BaseModel):
    kind: str
    message: str
    created_at: Timestamp


class FulfillmentOut(BaseModel):
    id: int
    lines: list[dict[str, int]]
    tracking_number: str | None
    tracking_url: str | None
    carrier: str | None
    created_at: Timestamp


class PaymentOut(BaseModel):
    provider: str
    status: str
    amount: PriceOut
    refunded_amount: PriceOut
    provider_payment_id: str | None


class OrderOut(BaseModel):
    """An order: money in the order's currency, both statuses, lines, payments, fulfilments, the timeline."""

    id: int
    number: str
    email: str | None
    currency: str
    source: str | None
    financial_status: str | None
    fulfillment_status: str | None
    subtotal: PriceOut | None
    shipping: PriceOut | None
    tax: PriceOut | None
    discount: PriceOut | None
    total: PriceOut
    refunded: PriceOut | None
    taxes_included: bool | None
    shipping_address: dict[str, str] | None
    shipping_method: str | None
    discount_code: str | None
    payment_provider: str | None
    cancelled_at: Timestamp | None
    created_at: Timestamp
    lines: list[OrderLineOut] = []
    payments: list[PaymentOut] = []
    fulfillments: list[FulfillmentOut] = []
    events: list[OrderEventOut] = []

    @classmethod
    def build(cls, order: Order, digits: int) -> "OrderOut":
        price = lambda amount: format_price(amount, digits)  # noqa: E731
        return cls(
            id=order.id, number=order.number, email=order.email, currency=order.currency, source=order.source,
            financial_status=order.financial_status, fulfillment_status=order.fulfillment_status,
            subtotal=price(order.subtotal_price), shipping=price(order.shipping_price), tax=price(order.tax_price),
            discount=price(order.discount_price), total=price(order.total_price), refunded=price(order.refunded_price),
            taxes_included=order.taxes_included, shipping_address=order.shipping_address, shipping_method=order.shipping_method,
            discount_code=order.discount_code, payment_provider=order.payment_provider, cancelled_at=order.cancelled_at,
            created_at=order.created_at,
            lines=[
                OrderLineOut(
                    id=line.id, variant_id=line.variant_id, product_id=line.product_id, title=line.title, variant_title=line.variant_title,
                    sku=line.sku, quantity=line.quantity, unit_price=price(line.unit_price), discount=price(line.discount_amount),
                    tax=price(line.tax_amount), total=price(line.total_price), fulfilled_quantity=line.fulfilled_quantity,
                    refunded_quantity=line.refunded_quantity,
                )
                for line in order.lines
            ],
            payments=[
                PaymentOut(provider=p.provider, status=p.status, amount=price(p.amount), refunded_amount=price(p.refunded_amount), provider_payment_id=p.provider_payment_id)
                for p in order.payments
            ],
            fulfillments=[FulfillmentOut(id=f.id, lines=f.lines, tracking_number=f.tracking_number, tracking_url=f.tracking_url, carrier=f.carrier, created_at=f.created_at) for f in order.fulfillments],
            events=[OrderEventOut(kind=e.kind, message=e.message, created_at=e.created_at) for e in order.events],
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


# -- checkout rules


class ShippingRateIn(BaseModel):
    """A shipping rate: `flat` (price), `by_weight` (price per started kilogram), `free_above` (free from `min_subtotal`)."""

    model_config = STRICT

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    kind: Literal["flat", "by_weight", "free_above"]
    price: PriceIn
    min_subtotal: PriceIn | None = None
    countries: Annotated[list[Country], Field(max_length=250)] = []


class ShippingRateOut(BaseModel):
    id: int
    name: str
    kind: str
    price: PriceOut
    min_subtotal: PriceOut | None
    countries: list[str]

    @classmethod
    def build(cls, row: dict[str, Any], digits: int) -> "ShippingRateOut":
        return cls(
            id=row["id"], name=row["name"], kind=row["kind"], price=format_price(row["price"], digits),
            min_subtotal=format_price(row["min_subtotal"], digits), countries=[c for c in row["countries"].split(",") if c],
        )


class TaxRateIn(BaseModel):
    """A tax rate for a country (or one region of it): `rate` is a fraction (0.19 for 19 %)."""

    model_config = STRICT

    country_code: Country
    region: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    rate: Annotated[Decimal, Field(ge=0, le=1, max_digits=7, decimal_places=6, allow_inf_nan=False)]
    is_inclusive: bool = False
    applies_to_shipping: bool = False


class TaxRateOut(BaseModel):
    id: int
    country_code: str
    region: str
    rate: str
    is_inclusive: bool
    applies_to_shipping: bool

    @classmethod
    def build(cls, row: dict[str, Any]) -> "TaxRateOut":
        return cls(id=row["id"], country_code=row["country_code"], region=row["region"], rate=f"{Decimal(row['rate']).normalize():f}",
                   is_inclusive=row["is_inclusive"], applies_to_shipping=row["applies_to_shipping"])


class DiscountIn(BaseModel):
    """A discount code: `percentage` (value 0-100) or `fixed` (an amount off the subtotal)."""

    model_config = STRICT

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_-]{2,64}$")]
    kind: Literal["percentage", "fixed"]
    value: PriceIn
    usage_limit: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = None
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None


class DiscountOut(BaseModel):
    id: int
    code: str
    kind: str
    value: str
    usage_limit: int | None
    times_used: int
    starts_at: Timestamp | None
    ends_at: Timestamp | None

    @classmethod
    def build(cls, row: dict[str, Any]) -> "DiscountOut":
        return cls(id=row["id"], code=row["code"], kind=row["kind"], value=f"{Decimal(row['value']).normalize():f}", usage_limit=row["usage_limit"],
                   times_used=row["times_used"], starts_at=row["starts_at"], ends_at=row["ends_at"])


class ShippingRatePage(BaseModel):
    items: list[ShippingRateOut]


class TaxRatePage(BaseModel):
    items: list[TaxRateOut]


class DiscountPage(BaseModel):
    items: list[DiscountOut]

"""Money for a checkout: lines, discount, shipping, taxes. Pure functions of plain data, no I/O.

Every amount is a ``Decimal`` rounded to the currency's minor units (JPY 0, EUR 2, KWD 3)
with ROUND_HALF_UP, at the line: taxes are computed and rounded line by line (and on
shipping when the rate says so), so the lines a shopper sees always add up to the total.

Order of operations (Shopify's): subtotal -> discount (spread over the lines in proportion,
the rounding rest on the last line) -> tax on each discounted line -> shipping. Inclusive
taxes are extracted from the price (price x rate / (1 + rate)) and not added; exclusive
taxes are added on top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from origin.tenancy.models import CURRENCY_DIGITS

ZERO = Decimal("0")


def quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-CURRENCY_DIGITS.get(currency, 2))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PricedLineInput:
    variant_id: int
    quantity: int
    unit_price: Decimal
    weight_grams: int


@dataclass(frozen=True)
class ShippingRate:
    id: int
    name: str
    kind: str  # flat | by_weight | free_above
    price: Decimal  # flat: the price; by_weight: per started kilogram; free_above: below the threshold
    min_subtotal: Decimal | None  # free_above: free from this subtotal
    countries: tuple[str, ...]  # empty: everywhere

    def serves(self, country_code: str) -> bool:
        return not self.countries or country_code in self.countries

    def price_for(self, subtotal: Decimal, weight_grams: int, currency: str) -> Decimal:
        if self.kind == "free_above" and self.min_subtotal is not None and subtotal >= self.min_subtotal:
            return quantize(ZERO, currency)
        if self.kind == "by_weight":
            kilograms = max(1, -(-weight_grams // 1000))  # every started kilogram, at least one
            return quantize(self.price * kilograms, currency)
        return quantize(self.price, currency)


@dataclass(frozen=True)
class TaxRate:
    country_code: str
    region: str
    rate: Decimal
    is_inclusive: bool
    applies_to_shipping: bool


@dataclass(frozen=True)
class Discount:
    id: int
    code: str
    kind: str  # percentage | fixed
    value: Decimal
    usage_limit: int | None
    times_used: int
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None

    def problem_at(self, now: dt.datetime) -> str | None:
        """Why the code cannot be used now, or None."""
        if self.starts_at is not None and now < self.starts_at:
            return "that discount code is not active yet"
        if self.ends_at is not None and now >= self.ends_at:
            return "that discount code has expired"
        if self.usage_limit is not None and self.times_used >= self.usage_limit:
            return "that discount code has been used up"
        return None


def tax_rate_for(rates: list[TaxRate], country_code: str, region: str) -> TaxRate | None:
    """The region's own rate, else the country's (region "")."""
    by_place = {(rate.country_code, rate.region): rate for rate in rates}
    return by_place.get((country_code, region)) or by_place.get((country_code, ""))


@dataclass(frozen=True)
class PricedLine:
    variant_id: int
    quantity: int
    unit_price: Decimal
    subtotal: Decimal  # quantity x unit price
    discount: Decimal
    tax: Decimal
    total: Decimal  # subtotal - discount (+ tax when exclusive)


@dataclass(frozen=True)
class Totals:
    currency: str
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    taxes_included: bool
    weight_grams: int


def _tax(amount: Decimal, rate: TaxRate | None, currency: str) -> Decimal:
    if rate is None or rate.rate == 0:
        return quantize(ZERO, currency)
    if rate.is_inclusive:
        return quantize(amount * rate.rate / (1 + rate.rate), currency)
    return quantize(amount * rate.rate, currency)


def price_checkout(
    currency: str,
    lines: list[PricedLineInput],
    *,
    discount: Discount | None = None,
    shipping_rate: ShippingRate | None = None,
    tax_rate: TaxRate | None = None,
) -> Totals:
    subtotals = [quantize(line.unit_price * line.quantity, currency) for line in lines]
    subtotal = sum(subtotals, quantize(ZERO, currency))
    if discount is None or subtotal == 0:
        discount_total = quantize(ZERO, currency)
    elif discount.kind == "percentage":
        discount_total = quantize(subtotal * min(discount.value, Decimal(100)) / 100, currency)
    else:
        discount_total = quantize(min(discount.value, subtotal), currency)
    shares: list[Decimal] = []
    remaining = discount_total
    for index, line_subtotal in enumerate(subtotals):
        if index == len(subtotals) - 1:
            share = remaining
        else:
            share = quantize(discount_total * line_subtotal / subtotal, currency) if subtotal else quantize(ZERO, currency)
        shares.append(share)
        remaining -= share
    priced: list[PricedLine] = []
    for line, line_subtotal, share in zip(lines, subtotals, shares):
        tax = _tax(line_subtotal - share, tax_rate, currency)
        exclusive = tax if tax_rate is not None and not tax_rate.is_inclusive else ZERO
        priced.append(
            PricedLine(line.variant_id, line.quantity, quantize(line.unit_price, currency), line_subtotal, share, tax, line_subtotal - share + exclusive)
        )
    weight = sum(line.weight_grams * line.quantity for line in lines)
    shipping = shipping_rate.price_for(subtotal, weight, currency) if shipping_rate is not None else quantize(ZERO, currency)
    shipping_tax = _tax(shipping, tax_rate, currency) if tax_rate is not None and tax_rate.applies_to_shipping else quantize(ZERO, currency)
    tax_total = sum((line.tax for line in priced), quantize(ZERO, currency)) + shipping_tax
    is_inclusive = tax_rate is not None and tax_rate.is_inclusive
    total = subtotal - discount_total + shipping + (ZERO if is_inclusive else tax_total)
    return Totals(currency, tuple(priced), subtotal, discount_total, shipping, tax_total, total, is_inclusive, weight)

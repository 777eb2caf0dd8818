"""Everything a checkout step needs, read in a handful of queries (like saleor's checkout/fetch.py).

``fetch_checkout`` loads the checkout row, its lines joined to the live catalog (price,
stock policy, weight, whether the product is still sold), the tenant's shipping and tax
rates and the discount its code names. ``CheckoutInfo`` then prices it (pure) and says
what is still missing. Called again inside the placing transaction, after the checkout
row is locked, so an order is priced from what is true at that moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.catalog.tables import products, variants
from origin.checkout.addresses import Address, address_from_dict
from origin.orders.inventory import StockLine
from origin.orders.tables import inventory_reservations
from origin.checkout.pricing import Discount, PricedLineInput, ShippingRate, TaxRate, Totals, price_checkout, tax_rate_for
from origin.checkout.tables import checkout_lines, checkouts, discounts, shipping_rates, tax_rates
from origin.orders.emails import EmailStore, email_store_from_row, email_store_source
from origin.outbox.templates import EmailTemplate
from origin.services import Services
from origin.tenancy.tables import tenants


@dataclass(frozen=True)
class CheckoutLine:
    variant_id: int
    product_id: int
    title: str
    variant_title: str
    sku: str | None
    quantity: int
    unit_price: Decimal
    inventory_quantity: int
    inventory_policy: str
    is_tracked: bool
    weight_grams: int

    @property
    def available(self) -> int | None:
        """How many can be bought now; None: no limit."""
        if not self.is_tracked or self.inventory_policy == "continue":
            return None
        return max(self.inventory_quantity, 0)

    def stock_line(self) -> StockLine:
        return StockLine(self.variant_id, self.product_id, self.quantity, self.inventory_policy, self.is_tracked)


@dataclass(frozen=True)
class CheckoutInfo:
    id: int
    tenant_id: int
    token: str
    status: str
    currency: str
    shop_name: str
    email: str | None
    address: Address | None
    lines: tuple[CheckoutLine, ...]
    missing_variant_ids: tuple[int, ...]  # in the cart, no longer sold
    shipping_rates: tuple[ShippingRate, ...]
    shipping_rate_id: int | None
    tax_rates: tuple[TaxRate, ...]
    discount_code: str | None
    discount: Discount | None
    has_reservations: bool = False  # stock held for it (checkout reached payment); read with the checkout

    def rates_for_address(self) -> tuple[ShippingRate, ...]:
        if self.address is None:
            return ()
        return tuple(rate for rate in self.shipping_rates if rate.serves(self.address.country))

    @property
    def shipping_rate(self) -> ShippingRate | None:
        return next((rate for rate in self.rates_for_address() if rate.id == self.shipping_rate_id), None)

    @property
    def tax_rate(self) -> TaxRate | None:
        if self.address is None:
            return None
        return tax_rate_for(list(self.tax_rates), self.address.country, self.address.region)

    def usable_discount(self, now: dt.datetime) -> Discount | None:
        if self.discount is None or self.discount.problem_at(now) is not None:
            return None
        return self.discount

    def totals(self, now: dt.datetime) -> Totals:
        return price_checkout(
            self.currency,
            [PricedLineInput(line.variant_id, line.quantity, line.unit_price, line.weight_grams) for line in self.lines],
            discount=self.usable_discount(now),
            shipping_rate=self.shipping_rate,
            tax_rate=self.tax_rate,
        )

    def short_lines(self) -> list[CheckoutLine]:
        """Lines asking for more than is in stock right now."""
        return [line for line in self.lines if line.available is not None and line.quantity > line.available]


def _rate(row) -> ShippingRate:
    return _rate_of(row.id, row.name, row.kind, row.price, row.min_subtotal, row.countries)


def _rate_of(rate_id: int, name: str, kind: str, price: Decimal, min_subtotal: Decimal | None, countries: str | None) -> ShippingRate:
    return ShippingRate(rate_id, name, kind, price, min_subtotal, tuple(code for code in (countries or "").split(",") if code))


def _discount(row) -> Discount:
    return Discount(row.id, row.code, row.kind, row.value, row.usage_limit, row.times_used, row.starts_at, row.ends_at)


async def select_shipping_rates(conn: AsyncConnection, tenant_id: int) -> tuple[ShippingRate, ...]:
    rows = await conn.execute(
        sa.select(shipping_rates).where(shipping_rates.c.tenant_id == tenant_id, shipping_rates.c.is_active.is_(True)).order_by(shipping_rates.c.id)
    )
    return tuple(_rate(row) for row in rows)


async def select_tax_rates(conn: AsyncConnection, tenant_id: int) -> tuple[TaxRate, ...]:
    rows = await conn.execute(_TAX_RATES, {"b_tenant": tenant_id})
    return tuple(TaxRate(row.country_code, row.region, Decimal(row.rate), row.is_inclusive, row.applies_to_shipping) for row in rows)


async def select_discount(conn: AsyncConnection, tenant_id: int, code: str) -> Discount | None:
    row = (await conn.execute(sa.select(discounts).where(discounts.c.tenant_id == tenant_id, discounts.c.code == code.upper()))).first()
    return None if row is None else _discount(row)


def _line(row) -> CheckoutLine:
    """A checkout line from a row of ``_checkout_query`` (its variant joined to its product)."""
    return CheckoutLine(
        variant_id=row.variant_id,
        product_id=row.product_id,
        title=row.product_title,
        variant_title="" if row.variant_title == "Default Title" or row.option1_name is None else row.variant_title,
        sku=row.sku,
        quantity=row.quantity,
        unit_price=row.price,
        inventory_quantity=row.inventory_quantity,
        inventory_policy=row.inventory_policy,
        is_tracked=row.is_inventory_tracked is not False,
        weight_grams=row.weight_grams or 0,
    )


def _checkout_query(*, to_place: bool):
    # The checkout, its shop's currency and name, whether it holds reservations, and each line with its live
    # variant and product in one statement (a line whose variant is gone or whose product is no longer active
    # comes back without them): placement runs this inside its transaction, where every round trip costs.
    sold = variants.join(products, sa.and_(products.c.id == variants.c.product_id, products.c.tenant_id == variants.c.tenant_id, products.c.status == "active"))
    held = (
        sa.select(inventory_reservations.c.id)
        .where(inventory_reservations.c.tenant_id == checkouts.c.tenant_id, inventory_reservations.c.checkout_id == checkouts.c.id)
        .exists()
    )
    columns = [
        checkouts.c.id, checkouts.c.token, checkouts.c.status, checkouts.c.email, checkouts.c.shipping_address,
        checkouts.c.shipping_rate_id, checkouts.c.discount_code, tenants.c.currency, tenants.c.name.label("shop_name"),
        held.label("has_reservations"),
        checkout_lines.c.variant_id.label("line_variant_id"), checkout_lines.c.quantity,
        variants.c.id.label("variant_id"), variants.c.product_id, variants.c.title.label("variant_title"), variants.c.sku, variants.c.price,
        variants.c.inventory_quantity, variants.c.inventory_policy, variants.c.is_inventory_tracked, variants.c.weight_grams,
        products.c.title.label("product_title"), products.c.option1_name,
    ]
    source = (
        checkouts.join(tenants, tenants.c.id == checkouts.c.tenant_id)
        .outerjoin(checkout_lines, sa.and_(checkout_lines.c.tenant_id == checkouts.c.tenant_id, checkout_lines.c.checkout_id == checkouts.c.id))
        .outerjoin(sold, sa.and_(variants.c.tenant_id == checkouts.c.tenant_id, variants.c.id == checkout_lines.c.variant_id))
    )
    if to_place:
        source = source.outerjoin(
            shipping_rates,
            sa.and_(shipping_rates.c.tenant_id == checkouts.c.tenant_id, shipping_rates.c.id == checkouts.c.shipping_rate_id, shipping_rates.c.is_active.is_(True)),
        )
        columns += [
            shipping_rates.c.id.label("rate_id"), shipping_rates.c.name.label("rate_name"), shipping_rates.c.kind.label("rate_kind"),
            shipping_rates.c.price.label("rate_price"), shipping_rates.c.min_subtotal.label("rate_min_subtotal"),
            shipping_rates.c.countries.label("rate_countries"),
        ]
        # The tax rates that can apply to the address (its region's and its country's), in the same statement
        # instead of a second one for every rate of the shop. A superset by design: MariaDB compares
        # case-insensitively, and tax_rate_for makes the exact choice from what comes back.
        address = checkouts.c.shipping_address
        source = source.outerjoin(
            tax_rates,
            sa.and_(
                tax_rates.c.tenant_id == checkouts.c.tenant_id,
                tax_rates.c.country_code == address["country"].as_string(),
                tax_rates.c.region.in_([address["region"].as_string(), ""]),
            ),
        )
        columns += [
            tax_rates.c.id.label("tax_id"), tax_rates.c.country_code.label("tax_country"), tax_rates.c.region.label("tax_region"),
            tax_rates.c.rate.label("tax_rate"), tax_rates.c.is_inclusive.label("tax_inclusive"),
            tax_rates.c.applies_to_shipping.label("tax_on_shipping"),
        ]
        # And what the confirmation says about the shop (its name, locale, primary host, own template).
        source, store_columns = email_store_source(source, checkouts.c.tenant_id, with_override=True)
        columns += store_columns
    # Placement reads a batch's checkouts together (origin/checkout/placement.py); a step reads one.
    token = checkouts.c.token.in_(sa.bindparam("b_tokens", expanding=True)) if to_place else checkouts.c.token == sa.bindparam("b_token")
    return (
        sa.select(*columns)
        .select_from(source)
        .where(checkouts.c.tenant_id == sa.bindparam("b_tenant"), token)
        .order_by(*((checkouts.c.id,) if to_place else ()), checkout_lines.c.position)
    )


# Built once, like placement's statements (origin/checkout/placement.py says why).
_CHECKOUT = {to_place: _checkout_query(to_place=to_place) for to_place in (False, True)}
_TAX_RATES = sa.select(tax_rates).where(tax_rates.c.tenant_id == sa.bindparam("b_tenant"))


async def fetch_checkout(conn: AsyncConnection, tenant_id: int, token: str) -> CheckoutInfo | None:
    """The checkout ``token`` names, priced from what the database says now (None: no such cart)."""
    rows = (await conn.execute(_CHECKOUT[False], {"b_tenant": tenant_id, "b_token": token})).all()
    if not rows:
        return None
    taxes = await select_tax_rates(conn, tenant_id)
    rates = await select_shipping_rates(conn, tenant_id)
    return await _checkout_info(conn, tenant_id, rows[0], rows, rates, taxes)


async def fetch_checkouts_to_place(
    conn: AsyncConnection, services: Services, tenant_id: int, tokens: list[str]
) -> dict[str, tuple[CheckoutInfo, EmailStore]]:
    """What placement needs, in one statement for a whole batch: each checkout, and the shop as its confirmation shows it.

    Of the shipping rates only the one each checkout has chosen (if it is still active), of the
    tax rates only those for its address's region and country, and the tenant's name, locale,
    primary host and own confirmation template (``EmailStore``). Keyed by token; a token with
    no checkout is missing.
    """
    params = {"b_tenant": tenant_id, "b_tokens": tokens, "b_template": EmailTemplate.ORDER_CONFIRMATION.value}
    by_token: dict[str, list] = {}
    for row in (await conn.execute(_CHECKOUT[True], params)).all():
        by_token.setdefault(row.token, []).append(row)
    return {token: await _checkout_to_place(conn, services, tenant_id, rows) for token, rows in by_token.items()}


async def _checkout_to_place(conn: AsyncConnection, services: Services, tenant_id: int, rows: list) -> tuple[CheckoutInfo, EmailStore]:
    row = rows[0]
    # One row per line and applicable tax rate (up to two): each line once, in its position's order.
    by_line = {line.line_variant_id: line for line in rows}
    line_rows = list(by_line.values()) if len(by_line) < len(rows) else rows
    taxes = tuple(
        {
            line.tax_id: TaxRate(line.tax_country, line.tax_region, Decimal(line.tax_rate), line.tax_inclusive, line.tax_on_shipping)
            for line in rows if line.tax_id is not None
        }.values()
    )
    rates: tuple[ShippingRate, ...] = ()
    if row.rate_id is not None:
        rates = (_rate_of(row.rate_id, row.rate_name, row.rate_kind, row.rate_price, row.rate_min_subtotal, row.rate_countries),)
    info = await _checkout_info(conn, tenant_id, row, line_rows, rates, taxes)
    return info, email_store_from_row(services, row, with_override=True)


async def _checkout_info(conn: AsyncConnection, tenant_id: int, row, line_rows, rates: tuple[ShippingRate, ...], taxes: tuple[TaxRate, ...]) -> CheckoutInfo:
    lines = [_line(line) for line in line_rows if line.variant_id is not None]
    missing = [line.line_variant_id for line in line_rows if line.line_variant_id is not None and line.variant_id is None]
    return CheckoutInfo(
        id=row.id,
        tenant_id=tenant_id,
        token=row.token,
        status=row.status,
        currency=row.currency,
        shop_name=row.shop_name,
        email=row.email,
        address=address_from_dict(row.shipping_address),
        lines=tuple(lines),
        missing_variant_ids=tuple(missing),
        shipping_rates=rates,
        shipping_rate_id=row.shipping_rate_id,
        tax_rates=taxes,
        discount_code=row.discount_code,
        discount=await select_discount(conn, tenant_id, row.discount_code) if row.discount_code else None,
        has_reservations=bool(row.has_reservations),
    )

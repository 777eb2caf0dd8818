"""The order emails (confirmation, payment received, shipped, refunded), queued through the outbox.

Each is one ``origin.outbox.actions.queue_email`` call inside the transaction of the
write it tells about, with a dedupe key naming that write (``order:<id>:confirmation``,
``order:<id>:paid``, ``fulfillment:<id>``, ``refund:<id>``): a replayed webhook or a
retried request never mails twice, and a rolled-back write mails nothing. Money is
formatted here in the shop's currency and locale (the templates do no arithmetic);
``status_url`` is the order page's signed link (origin/orders/links.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from origin.invalidation import AfterCommit
from origin.orders.links import order_status_path
from origin.orders.records import Order, OrderLine, select_order
from origin.outbox.actions import NewEmail, queue_email, queue_new_emails
from origin.outbox.tables import email_template_overrides
from origin.outbox.templates import EmailTemplate, TemplateSources
from origin.services import Services
from origin.tenancy.queries import primary_domain_query
from origin.tenancy.tables import tenants
from origin.tenancy.resolution import platform_host, public_base_url
from storefront.money import format_money


@dataclass(frozen=True)
class EmailStore:
    """What the mail says about the shop: its name and locale, and the host its links point at."""

    name: str
    locale: str
    base_url: str
    override: TemplateSources | None = None  # the tenant's own template for the mail to be sent, when read beforehand


@dataclass(frozen=True)
class EmailLine:
    """An order line as the mail shows it (an ``OrderLine`` has these too)."""

    title: str
    variant_title: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal


def email_store_source(source, tenant_id_column, *, with_override: bool):
    """The join and columns an ``EmailStore`` is built from (:func:`email_store_from_row`), onto ``source``.

    The tenant, its primary active domain and, with ``with_override``, the tenant's own template
    named by the ``b_template`` parameter. ``source`` must hold ``tenants`` already, joined on
    ``tenant_id_column``: placement folds these columns into its checkout statement, where every
    round trip costs; :func:`select_email_store` reads them on their own.
    """
    primary = primary_domain_query(tenants.c.id).scalar_subquery()
    columns = [tenants.c.slug.label("store_slug"), tenants.c.name.label("store_name"), tenants.c.locale.label("store_locale"), primary.label("primary_host")]
    if with_override:
        overrides = email_template_overrides
        source = source.outerjoin(overrides, sa.and_(overrides.c.tenant_id == tenant_id_column, overrides.c.template == sa.bindparam("b_template")))
        columns += [overrides.c.subject, overrides.c.text_body, overrides.c.html_body, overrides.c.tenant_id.label("override_tenant_id")]
    return source, columns


def email_store_from_row(services: Services, row, *, with_override: bool) -> EmailStore:
    host = row.primary_host or platform_host(services.settings, row.store_slug)
    override = None
    if with_override and row.override_tenant_id is not None:
        override = TemplateSources(subject=row.subject, text=row.text_body, html=row.html_body)
    return EmailStore(row.store_name, row.store_locale, public_base_url(services.settings, host), override)


def _email_store_query(*, with_override: bool):
    source, columns = email_store_source(tenants, tenants.c.id, with_override=with_override)
    return sa.select(*columns).select_from(source).where(tenants.c.id == sa.bindparam("b_tenant"))


_EMAIL_STORE = {with_override: _email_store_query(with_override=with_override) for with_override in (False, True)}


async def select_email_store(conn: AsyncConnection, services: Services, tenant_id: int, *, template: EmailTemplate | None = None) -> EmailStore:
    params = {"b_tenant": tenant_id} if template is None else {"b_tenant": tenant_id, "b_template": template.value}
    row = (await conn.execute(_EMAIL_STORE[template is not None], params)).one()
    return email_store_from_row(services, row, with_override=template is not None)


def _context(services: Services, store: EmailStore, order: Order, lines: Sequence[EmailLine | OrderLine], extra: dict[str, Any]) -> dict[str, Any]:
    base_url = store.base_url

    def money(amount: Decimal | None) -> str:
        return format_money(amount or Decimal(0), order.currency, store.locale)

    address = order.shipping_address or {}
    return {
        "store": {"name": store.name, "url": base_url + "/"},
        "order": {
            "number": order.number,
            "status_url": base_url + order_status_path(services.keyring, order.tenant_id, order.id),
            "email": order.email or "",
            "currency": order.currency,
            "lines": [
                {"title": line.title, "variant_title": line.variant_title, "quantity": line.quantity,
                 "unit_price": money(line.unit_price), "total": money(line.total_price)}
                for line in lines
            ],
            "subtotal": money(order.subtotal_price),
            "shipping": money(order.shipping_price),
            "tax": money(order.tax_price),
            "discount": money(order.discount_price),
            "total": money(order.total_price),
            "shipping_address": {name: str(address.get(name, "")) for name in ("name", "line1", "line2", "city", "region", "postal_code", "country")},
            **{key: (money(value) if isinstance(value, Decimal) else value) for key, value in extra.items()},
        },
    }


async def queue_order_email(
    conn: AsyncConnection, effects: AfterCommit, services: Services, tenant_id: int, order_id: int,
    template: EmailTemplate, dedupe_key: str, **extra: Any,
) -> None:
    """Mail the order's shopper about what this transaction did (nothing when the order has no email)."""
    order = await select_order(conn, tenant_id, order_id)
    # An order from Shopify was mailed about by Shopify (its own notifications): a second mail would be noise.
    if order is None or not order.email or order.source == "shopify":
        return
    store = await select_email_store(conn, services, tenant_id)
    await queue_email(
        conn, effects, tenant_id=tenant_id, to=order.email, template=template,
        context=_context(services, store, order, order.lines, extra), dedupe_key=dedupe_key,
    )


@dataclass(frozen=True)
class PlacedOrderEmail:
    """One confirmation for :func:`queue_placed_order_emails`: what the placing transaction wrote a moment ago."""

    after_commit: AfterCommit
    store: EmailStore
    order: Order
    lines: Sequence[EmailLine]


async def queue_placed_order_emails(conn: AsyncConnection, services: Services, tenant_id: int, placed: Sequence[PlacedOrderEmail]) -> None:
    """The confirmations of orders one transaction placed, from what it wrote (each ``order`` and its ``lines``).

    Placement already holds every value the mail shows, so re-reading the order with its four
    child tables (five statements, on the hot path while the stock row is locked) would only
    read back what it has just inserted; ``store`` (with the template override) is read by the
    caller before any hot lock, and the order ids are new, so no dedupe read is needed either.
    """
    mails = [
        NewEmail(
            after_commit=one.after_commit, to=one.order.email, template=EmailTemplate.ORDER_CONFIRMATION,
            context=_context(services, one.store, one.order, one.lines, {}), dedupe_key=f"order:{one.order.id}:confirmation",
            overrides=one.store.override,
        )
        for one in placed if one.order.email
    ]
    if mails:
        await queue_new_emails(conn, tenant_id, mails)

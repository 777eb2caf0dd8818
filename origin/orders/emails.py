"""The order emails (confirmation, payment received, shipped, refunded), queued through the outbox.

Each is one ``origin.outbox.actions.queue_email`` call inside the transaction of the
write it tells about, with a dedupe key naming that write (``order:<id>:confirmation``,
``order:<id>:paid``, ``fulfillment:<id>``, ``refund:<id>``): a replayed webhook or a
retried request never mails twice, and a rolled-back write mails nothing. Money is
formatted here in the shop's currency and locale (the templates do no arithmetic);
``status_url`` is the order page's signed link (origin/orders/links.py).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from origin.invalidation import AfterCommit
from origin.orders.links import order_status_path
from origin.orders.records import Order, select_order
from origin.outbox.actions import queue_email
from origin.outbox.templates import EmailTemplate
from origin.services import Services
from origin.tenancy.queries import select_primary_domain, select_tenant
from origin.tenancy.resolution import platform_host, public_base_url
from storefront.money import format_money


async def _context(conn: AsyncConnection, services: Services, order: Order, extra: dict[str, Any]) -> dict[str, Any]:
    tenant = await select_tenant(conn, order.tenant_id)
    host = await select_primary_domain(conn, order.tenant_id) or platform_host(services.settings, tenant.slug)
    base_url = public_base_url(services.settings, host)

    def money(amount: Decimal | None) -> str:
        return format_money(amount or Decimal(0), order.currency, tenant.locale)

    address = order.shipping_address or {}
    return {
        "store": {"name": tenant.name, "url": base_url + "/"},
        "order": {
            "number": order.number,
            "status_url": base_url + order_status_path(services.keyring, order.tenant_id, order.id),
            "email": order.email or "",
            "currency": order.currency,
            "lines": [
                {"title": line.title, "variant_title": line.variant_title, "quantity": line.quantity,
                 "unit_price": money(line.unit_price), "total": money(line.total_price)}
                for line in order.lines
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
    await queue_email(
        conn, effects, tenant_id=tenant_id, to=order.email, template=template,
        context=await _context(conn, services, order, extra), dedupe_key=dedupe_key,
    )

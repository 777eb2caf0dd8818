"""Plain async builders for checkout tests: real actions all the way (carts, steps, rules)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from origin.cart.carts import Cart
from origin.cart.signing import new_cart_id
from origin.checkout import rules
from origin.checkout.carts import save_cart
from origin.checkout.steps import do_update_checkout
from origin.services import Services

_keys = itertools.count(1)

US_ADDRESS = {"name": "Ann Buyer", "line1": "1 Main St", "line2": "", "city": "Springfield", "region": "IL", "postal_code": "62701", "country": "US"}
DE_ADDRESS = {"name": "Berta Käufer", "line1": "Hauptstr. 1", "line2": "", "city": "Berlin", "region": "", "postal_code": "10115", "country": "DE"}


def new_key() -> str:
    return f"order-key-{next(_keys):06d}"


async def make_shipping_rate(services: Services, tenant_id: int, **overrides: Any) -> dict:
    values = {"name": "Standard", "kind": "flat", "price": "5.00", "countries": []}
    values.update(overrides)
    return await rules.do_create_rule(services, tenant_id, "shipping", values)


async def make_checkout(
    services: Services, tenant_id: int, lines: list[tuple[int, int]], *, rate_id: int, address: dict | None = None, email: str = "ann@example.com", **form: Any
) -> str:
    """A checkout ready to place: cart lines, email, address and shipping method set. Returns its token."""
    token = new_cart_id()
    await save_cart(services, tenant_id, token, Cart(lines=tuple(lines)))
    await do_update_checkout(services, tenant_id, token, {"email": email, **(address or US_ADDRESS)})
    await do_update_checkout(services, tenant_id, token, {"shipping_rate_id": str(rate_id), **form})
    return token


def money(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.0001"))

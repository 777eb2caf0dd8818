"""The Cart record and its rules (quantities, line limits).

A cart is only variant ids and quantities; prices, titles and availability are
read fresh from the catalog whenever the cart is shown, so a price change is
never stale in a cart. It is stored as a checkout's rows (origin/checkout/carts.py,
issue 15), no longer in the cache: an evicted cache never loses a cart.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from origin.errors import ErrorKind, ZellyError
from origin.numbers import parse_bounded_int

MAX_LINES = 50
MAX_QUANTITY = 99


class CartErrorCode(enum.Enum):
    INVALID_VARIANT = "invalid_variant"
    INVALID_QUANTITY = "invalid_quantity"
    UNKNOWN_VARIANT = "unknown_variant"
    SOLD_OUT = "sold_out"
    TOO_MANY_LINES = "too_many_lines"
    INVALID_CSRF = "invalid_csrf"


class CartError(ZellyError):
    codes = (CartErrorCode,)


@dataclass(frozen=True)
class Cart:
    lines: tuple[tuple[int, int], ...] = ()  # (variant id, quantity), in the order added
    notice: str = ""  # shown once on the next cart page (a flash message)
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def quantities(self) -> dict[int, int]:
        return dict(self.lines)

    def with_quantity(self, variant_id: int, quantity: int) -> "Cart":
        quantities = self.quantities
        if quantity <= 0:
            quantities.pop(variant_id, None)
        else:
            quantities[variant_id] = quantity
        return replace(self, lines=tuple(quantities.items()))

    def with_messages(self, notice: str = "", problems: tuple[str, ...] = ()) -> "Cart":
        return replace(self, notice=notice, problems=problems)


def parse_variant_id(value: str | None) -> int:
    variant_id = parse_bounded_int(value, low=1)
    if variant_id is None:
        raise CartError(CartErrorCode.INVALID_VARIANT, "choose a product option (variant_id must be a whole number)", field="variant_id")
    return variant_id


def parse_quantity(value: str | None, *, minimum: int) -> int:
    if value is None or value == "":
        return 1 if minimum > 0 else 0
    quantity = parse_bounded_int(value, low=minimum, high=MAX_QUANTITY)
    if quantity is None:
        raise CartError(
            CartErrorCode.INVALID_QUANTITY, f"quantity must be a whole number from {minimum} to {MAX_QUANTITY}", field="quantity"
        )
    return quantity


def add_to_cart(cart: Cart, variant_id: int, quantity: int, *, available: int | None) -> Cart:
    """Add ``quantity``; ``available`` caps it (None: no limit, e.g. inventory_policy=continue)."""
    quantities = cart.quantities
    if variant_id not in quantities and len(quantities) >= MAX_LINES:
        raise CartError(CartErrorCode.TOO_MANY_LINES, f"a cart holds at most {MAX_LINES} different items", kind=ErrorKind.CONFLICT)
    wanted = min(quantities.get(variant_id, 0) + quantity, MAX_QUANTITY)
    if available is not None:
        if available <= 0:
            raise CartError(CartErrorCode.SOLD_OUT, "that option is sold out", field="variant_id", kind=ErrorKind.CONFLICT)
        wanted = min(wanted, available)
    return cart.with_quantity(variant_id, wanted)

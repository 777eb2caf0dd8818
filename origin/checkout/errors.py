"""Checkout's errors: what a shopper (or the API) did that a checkout cannot take."""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class CheckoutErrorCode(enum.Enum):
    EMPTY_CART = "empty_cart"
    SOLD_OUT = "sold_out"
    INVALID_EMAIL = "invalid_email"
    INVALID_ADDRESS = "invalid_address"
    UNKNOWN_COUNTRY = "unknown_country"
    NO_SHIPPING_RATE = "no_shipping_rate"
    UNKNOWN_DISCOUNT = "unknown_discount"
    DISCOUNT_NOT_USABLE = "discount_not_usable"
    INCOMPLETE = "incomplete"
    COMPLETED = "completed"
    NOT_FOUND = "not_found"
    INVALID_IDEMPOTENCY_KEY = "invalid_idempotency_key"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVALID_RULE = "invalid_rule"
    DUPLICATE_RULE = "duplicate_rule"
    BUSY = "busy"  # 503: placement lost lock races several times in a row; nothing was written


class CheckoutError(ZellyError):
    codes = (CheckoutErrorCode,)


def sold_out(title: str) -> CheckoutError:
    return CheckoutError(CheckoutErrorCode.SOLD_OUT, f"{title} is sold out", field="lines", kind=ErrorKind.CONFLICT)

"""Cart cookies and CSRF tokens, signed with a key derived from ZELLY_SECRET_KEY.

The cookie value is ``<cart id>.<mac>`` where the MAC covers the tenant id too,
so a cookie minted on one shop is worthless on another even if a browser sent
it there. The derived key is used for nothing else: rotating what signs carts
never touches what encrypts Shopify credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from origin.services import derive_cart_key  # noqa: F401  (derived once in open_services: Services.cart_key)

COOKIE_NAME = "zelly_cart"
CART_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_cart_id() -> str:
    return secrets.token_urlsafe(16)  # 128 bits, 22 characters


def _mac(key: bytes, purpose: str, tenant_id: int, cart_id: str) -> str:
    digest = hmac.new(key, f"{purpose}:{tenant_id}:{cart_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def sign_cart_cookie(key: bytes, tenant_id: int, cart_id: str) -> str:
    return f"{cart_id}.{_mac(key, 'cookie', tenant_id, cart_id)}"


def verify_cart_cookie(key: bytes, tenant_id: int, value: str | None) -> str | None:
    """The cart id from a cookie value, or None if it is missing, malformed or not ours."""
    if not value or len(value) > 64:
        return None
    cart_id, _, mac = value.partition(".")
    if not CART_ID_PATTERN.match(cart_id) or not hmac.compare_digest(mac, _mac(key, "cookie", tenant_id, cart_id)):
        return None
    return cart_id


def csrf_token(key: bytes, tenant_id: int, cart_id: str) -> str:
    return _mac(key, "csrf", tenant_id, cart_id)


def verify_csrf_token(key: bytes, tenant_id: int, cart_id: str, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(key, tenant_id, cart_id))

"""Cart cookies and CSRF tokens, signed with the keyring's cart-cookie key.

The cookie value is ``<cart id>.<key id>.<mac>`` and a CSRF token
``<key id>.<mac>``; the MAC covers the tenant id too, so a cookie minted on one
shop is worthless on another even if a browser sent it there. The key id names
the secret that signed it: after a rotation, cookies signed with the previous
secret still verify until it is dropped (origin/keyring.py). The key is used
for nothing else: rotating what signs carts never touches what encrypts Shopify
credentials. A malformed value, or one naming a key no longer accepted, is
simply not ours (None / False), never an error.

Its name is :func:`cart_cookie_name`: ``__Host-zelly_cart`` over HTTPS, ``zelly_cart`` in dev over http.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from origin.keyring import KeyPurpose, Keyring

COOKIE_NAME = "zelly_cart"
# Over HTTPS the cookie is a __Host- cookie (issue 13): browsers then accept it only with
# Secure, Path=/ and no Domain, so neither a sibling store on the platform domain nor a
# plain-http response can set or shadow it. Dev over plain http keeps the bare name:
# browsers drop a __Host- cookie that is not Secure, and a Secure cookie sent over http
# (outside localhost) is dropped too, so the dev cart would never stick.
SECURE_COOKIE_NAME = "__Host-" + COOKIE_NAME


def cart_cookie_name(public_scheme: str) -> str:
    return SECURE_COOKIE_NAME if public_scheme == "https" else COOKIE_NAME
CART_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def new_cart_id() -> str:
    return secrets.token_urlsafe(16)  # 128 bits, 22 characters


def _mac(key: bytes, purpose: str, tenant_id: int, cart_id: str) -> str:
    digest = hmac.new(key, f"{purpose}:{tenant_id}:{cart_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def _verify(keyring: Keyring, kid: str, mac: str, purpose: str, tenant_id: int, cart_id: str) -> bool:
    key = keyring.key_for(KeyPurpose.CART_COOKIE, kid)
    return key is not None and hmac.compare_digest(mac, _mac(key, purpose, tenant_id, cart_id))


def sign_cart_cookie(keyring: Keyring, tenant_id: int, cart_id: str) -> str:
    kid, key = keyring.signing_key(KeyPurpose.CART_COOKIE)
    return f"{cart_id}.{kid}.{_mac(key, 'cookie', tenant_id, cart_id)}"


def verify_cart_cookie(keyring: Keyring, tenant_id: int, value: str | None) -> str | None:
    """The cart id from a cookie value, or None if it is missing, malformed or not ours."""
    if not value or len(value) > 72:
        return None
    parts = value.split(".")
    if len(parts) != 3:
        return None
    cart_id, kid, mac = parts
    if not CART_ID_PATTERN.match(cart_id) or not _verify(keyring, kid, mac, "cookie", tenant_id, cart_id):
        return None
    return cart_id


def csrf_token(keyring: Keyring, tenant_id: int, cart_id: str) -> str:
    kid, key = keyring.signing_key(KeyPurpose.CART_COOKIE)
    return f"{kid}.{_mac(key, 'csrf', tenant_id, cart_id)}"


def verify_csrf_token(keyring: Keyring, tenant_id: int, cart_id: str, token: str | None) -> bool:
    if not token or len(token) > 64:
        return False
    kid, separator, mac = str(token).partition(".")
    return bool(separator) and _verify(keyring, kid, mac, "csrf", tenant_id, cart_id)

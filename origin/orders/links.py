"""The shopper's order status link: ``/orders/<id>?key=<key id>.<mac>``, signed with the keyring.

The MAC covers tenant and order, so a link opens one order of one shop and nothing else;
there is nothing to guess (no sequential id alone opens a page). The key id lets links
signed before a secret rotation keep working until the previous secret is dropped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from origin.keyring import KeyPurpose, Keyring


def _mac(key: bytes, tenant_id: int, order_id: int) -> str:
    digest = hmac.new(key, f"order:{tenant_id}:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def order_status_key(keyring: Keyring, tenant_id: int, order_id: int) -> str:
    kid, key = keyring.signing_key(KeyPurpose.ORDER_STATUS_LINK)
    return f"{kid}.{_mac(key, tenant_id, order_id)}"


def order_status_path(keyring: Keyring, tenant_id: int, order_id: int) -> str:
    return f"/orders/{order_id}?key={order_status_key(keyring, tenant_id, order_id)}"


def verify_order_status_key(keyring: Keyring, tenant_id: int, order_id: int, value: str | None) -> bool:
    if not value or len(value) > 64:
        return False
    kid, separator, mac = value.partition(".")
    key = keyring.key_for(KeyPurpose.ORDER_STATUS_LINK, kid) if separator else None
    return key is not None and hmac.compare_digest(mac, _mac(key, tenant_id, order_id))

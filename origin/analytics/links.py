"""Short-lived signed links to a tenant's analytics dashboard.

A merchant's browser cannot send a bearer header when opening a page, so the
seller API (bearer-authenticated) hands out a link that carries
``<tenant_id>.<expires unix>.<key id>.<hmac>``: HMAC-SHA256 under the keyring's
dashboard-link key (origin/keyring.py), valid :data:`LINK_SECONDS`. The key id
names the secret that signed it, so a link handed out just before a secret
rotation still opens during the overlap. It grants read access to that
tenant's analytics only, and cannot be extended without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.errors import ErrorKind
from origin.keyring import KeyPurpose, Keyring
from origin.numbers import parse_bounded_int

LINK_SECONDS = 15 * 60


def _signature(key: bytes, tenant_id: int, expires: int) -> str:
    return hmac.new(key, f"{tenant_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def sign_link_token(keyring: Keyring, tenant_id: int, *, now: float | None = None) -> tuple[str, int]:
    expires = int((now or time.time()) + LINK_SECONDS)
    kid, key = keyring.signing_key(KeyPurpose.DASHBOARD_LINK)
    return f"{tenant_id}.{expires}.{kid}.{_signature(key, tenant_id, expires)}", expires


def verify_link_token(keyring: Keyring, token: str, *, now: float | None = None) -> int:
    """The tenant id the token grants, or AnalyticsError (401) when forged, malformed, expired or signed by a dropped secret."""
    parts = token.split(".")
    tenant_id, expires = (parse_bounded_int(parts[0]), parse_bounded_int(parts[1])) if len(parts) == 4 else (None, None)
    if tenant_id is None or expires is None:
        raise _refused("this dashboard link is malformed; ask for a new one")
    key = keyring.key_for(KeyPurpose.DASHBOARD_LINK, parts[2])
    if key is None or not hmac.compare_digest(_signature(key, tenant_id, expires), parts[3]):
        raise _refused("this dashboard link is not valid; ask for a new one")
    if expires < (now or time.time()):
        raise _refused("this dashboard link has expired; ask for a new one")
    return tenant_id


def _refused(message: str) -> AnalyticsError:
    return AnalyticsError(AnalyticsErrorCode.INVALID_LINK, message, kind=ErrorKind.UNAUTHORIZED)

"""Short-lived signed links to a tenant's analytics dashboard.

A merchant's browser cannot send a bearer header when opening a page, so the
seller API (bearer-authenticated) hands out a link that carries
``<tenant_id>.<expires unix>.<hmac>``: HMAC-SHA256 under ZELLY_SECRET_KEY with a
purpose prefix, valid :data:`LINK_SECONDS`. It grants read access to that
tenant's analytics only, and cannot be extended without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.errors import ErrorKind

LINK_SECONDS = 15 * 60
PURPOSE = b"zelly.analytics.dashboard.v1"


def _signature(secret: str, tenant_id: int, expires: int) -> str:
    return hmac.new(secret.encode(), PURPOSE + f":{tenant_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def sign_link_token(secret: str, tenant_id: int, *, now: float | None = None) -> tuple[str, int]:
    expires = int((now or time.time()) + LINK_SECONDS)
    return f"{tenant_id}.{expires}.{_signature(secret, tenant_id, expires)}", expires


def verify_link_token(secret: str, token: str, *, now: float | None = None) -> int:
    """The tenant id the token grants, or AnalyticsError (401) when forged, malformed or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        raise _refused("this dashboard link is malformed; ask for a new one")
    tenant_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(_signature(secret, tenant_id, expires), parts[2]):
        raise _refused("this dashboard link is not valid; ask for a new one")
    if expires < (now or time.time()):
        raise _refused("this dashboard link has expired; ask for a new one")
    return tenant_id


def _refused(message: str) -> AnalyticsError:
    return AnalyticsError(AnalyticsErrorCode.INVALID_LINK, message, kind=ErrorKind.UNAUTHORIZED)

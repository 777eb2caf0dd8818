"""Short-lived signed links to a tenant's analytics dashboard.

A merchant's browser cannot send a bearer header when opening a page, so the
seller API (bearer-authenticated) hands out a link that carries
``<tenant_id>.<expires unix>.<key id>.<hmac>``: HMAC-SHA256 under the keyring's
dashboard-link key (origin/keyring.py), valid :data:`LINK_SECONDS`. The key id
names the secret that signed it, so a link handed out just before a secret
rotation still opens during the overlap. It grants read access to that
tenant's analytics only, and cannot be extended without the key.

Where it opens (issue 13): :func:`dashboard_url` builds the link from the
platform's public URL (``ZELLY_PUBLIC_SCHEME`` and the Caddy ports, as
shoppers see them; never the internal origin address) and names the store
(``store=<slug>``). The dashboard answers only on the platform's own hosts
(where the seller API lives, never a store's host, so a link cannot be made to
run under a storefront's origin) and only when ``store`` names the tenant the
token was signed for.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.errors import ErrorKind
from origin.keyring import KeyPurpose, Keyring
from origin.settings import Settings
from origin.tenancy.resolution import public_base_url
from tls.hostnames import normalize_host
from origin.numbers import parse_bounded_int

LINK_SECONDS = 15 * 60
DASHBOARD_PATH = "/analytics/dashboard"


def dashboard_url(settings: Settings, slug: str, token: str) -> str:
    """The absolute link a merchant opens: the platform host's public URL, naming the store."""
    base = public_base_url(settings, normalize_host(settings.platform_domain))
    return f"{base}{DASHBOARD_PATH}?store={slug}&link={token}"


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

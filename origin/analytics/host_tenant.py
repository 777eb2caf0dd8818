"""Host -> tenant for the event intake: a stand-in until ``origin/tenancy/resolution.py`` lands.

Resolves platform subdomains ``<slug>.<platform_domain>`` and *active* custom
domains with the tenancy queries, memoised in-process for a minute (negative
answers too, so a flood of events for an unknown host costs no queries).
The intake calls only :func:`tenant_for_host`; swapping in the shared resolver
(in-process LRU -> Redis -> MySQL) is a one-line change there.
"""

from __future__ import annotations

import time

from origin.tenancy.models import Tenant
from origin.tenancy.queries import select_tenant_by_active_domain, select_tenant_by_slug

MEMO_SECONDS = 60.0
MEMO_MAX = 10_000


def normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


async def tenant_for_host(services, host: str) -> Tenant | None:
    hostname = normalise_host(host)
    memo: dict[str, tuple[float, Tenant | None]] = services.extras.setdefault("analytics.host_memo", {})
    hit = memo.get(hostname)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    tenant = await _lookup(services, hostname)
    if len(memo) >= MEMO_MAX:
        memo.clear()
    memo[hostname] = (now + MEMO_SECONDS, tenant)
    return tenant


async def _lookup(services, hostname: str) -> Tenant | None:
    suffix = "." + services.settings.platform_domain.lower()
    async with services.db.connect() as conn:
        if hostname.endswith(suffix):
            slug = hostname[: -len(suffix)]
            return await select_tenant_by_slug(conn, slug) if slug and "." not in slug else None
        return await select_tenant_by_active_domain(conn, hostname)

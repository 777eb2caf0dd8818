"""What a write tells the caches, sent only after its transaction commits.

Two mechanisms, both keyed by tenant:

- a per-tenant *catalog version* in the shared cache (origin/catalog_versions.py):
  the storefront's page and data cache keys include it, so bumping it retires
  every cached page of that tenant at once (cheap, and exact enough for a catalog of one tenant);
- a purge message on the edge channel (edge.tags.PURGE_CHANNEL) naming the
  tags the write touched, so every edge process (and Cloudflare, through the
  purge queue) drops exactly the affected pages.

Tenant-level changes (suspension, theme, domains) also go out on
TENANCY_CHANNEL so every process drops its in-process Host -> tenant entries.
"""

from __future__ import annotations

import json
import logging

from edge import tags as cache_tags
from origin.services import Services

log = logging.getLogger(__name__)

TENANCY_CHANNEL = "zelly:tenancy"


async def catalog_version(services: Services, tenant_id: int) -> int:
    """The tenant's catalog version as stored (Services.catalog_versions remembers it per process)."""
    return await services.catalog_versions.read(tenant_id)


async def publish_purge(services: Services, tenant_id: int, tags: list[str] | tuple[str, ...] = (), *, hosts: tuple[str, ...] = ()) -> None:
    """Retire the tenant's cached pages and tell every tier which tags changed.

    The tiers are called directly: this process's remembered versions, the edge
    processes (pub/sub) and Cloudflare's purge queue when ``zelly origin`` has one.
    """
    await services.catalog_versions.bump(tenant_id)
    await services.broadcast.publish(cache_tags.PURGE_CHANNEL, cache_tags.purge_message(tags=list(tags), hosts=list(hosts)))
    services.catalog_versions.forget(tags)
    if services.cloudflare_purge is not None:
        services.cloudflare_purge.enqueue(tags=list(tags), hosts=list(hosts))


async def publish_tenant_change(services: Services, tenant_id: int) -> None:
    """Suspension, theme or domain change: drop Host -> tenant entries and every page of the tenant."""
    await services.broadcast.publish(TENANCY_CHANNEL, json.dumps({"tenant_id": tenant_id}))
    await publish_purge(services, tenant_id, [cache_tags.tenant_tag(tenant_id)])

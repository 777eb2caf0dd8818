"""What a write tells the caches, sent only after its transaction commits.

Two mechanisms, both keyed by tenant:

- a per-tenant *catalog version* in the shared cache: the storefront's page and
  data cache keys include it, so bumping it retires every cached page of that
  tenant at once (cheap, and exact enough for a catalog of one tenant);
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


def catalog_version_key(tenant_id: int) -> str:
    return f"zelly:t{tenant_id}:catalog-version"


async def catalog_version(services: Services, tenant_id: int) -> int:
    """The tenant's catalog version: part of every storefront cache key."""
    key = catalog_version_key(tenant_id)
    if services.redis is not None:
        return int(await services.redis.get(key) or 0)
    return services.extras.setdefault("catalog_versions", {}).get(key, 0)


async def _bump_catalog_version(services: Services, tenant_id: int) -> None:
    # Atomic INCR on Redis; the embedded default is one process, so a dict is exact there.
    key = catalog_version_key(tenant_id)
    if services.redis is not None:
        await services.redis.incr(key)
        return
    versions = services.extras.setdefault("catalog_versions", {})
    versions[key] = versions.get(key, 0) + 1


async def publish_purge(services: Services, tenant_id: int, tags: list[str] | tuple[str, ...] = (), *, hosts: tuple[str, ...] = ()) -> None:
    """Retire the tenant's cached pages and tell the edge which tags changed."""
    await _bump_catalog_version(services, tenant_id)
    await services.broadcast.publish(cache_tags.PURGE_CHANNEL, cache_tags.purge_message(tags=list(tags), hosts=list(hosts)))
    for hook in services.extras.get("purge_hooks", ()):  # e.g. the Cloudflare purge queue
        await hook(list(tags), list(hosts))


async def publish_tenant_change(services: Services, tenant_id: int) -> None:
    """Suspension, theme or domain change: drop Host -> tenant entries and every page of the tenant."""
    await services.broadcast.publish(TENANCY_CHANNEL, json.dumps({"tenant_id": tenant_id}))
    await publish_purge(services, tenant_id, [cache_tags.tenant_tag(tenant_id)])

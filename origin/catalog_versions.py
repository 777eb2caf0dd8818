"""Each tenant's catalog version: part of every storefront cache key.

The version lives in the shared cache (``t<t>:catalog-version``, INCR on Redis)
and is bumped after every catalog write commits (origin/invalidation.py), which
retires all of the tenant's cached pages and reads at once.

:class:`CatalogVersions` remembers versions briefly so a page hit costs no
Redis round trip at all. A tenant is forgotten the moment this process
publishes a purge (publish_purge calls :meth:`CatalogVersions.forget`
directly) and when another process's purge arrives on the edge purge channel
(:meth:`CatalogVersions.listen`); the short TTL bounds staleness if a pub/sub
message is lost. On the embedded default (memory cache, one process) the
shared value is already in-process, so it is read every time.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Iterable

from edge.cache_keys import catalog_version_key
from edge.tags import PURGE_CHANNEL
from origin.broadcast import Broadcast
from origin.cache import INT, Cache

log = logging.getLogger(__name__)

VERSION_TTL_SECONDS = 2.0
TENANT_IN_TAG = re.compile(r"^t(\d+)(?:-|$)")


class CatalogVersions:
    def __init__(self, cache: Cache, broadcast: Broadcast, *, remember: bool, ttl: float = VERSION_TTL_SECONDS) -> None:
        self.cache = cache
        self.broadcast = broadcast
        self.remember = remember
        self.ttl = ttl
        self._versions: dict[int, tuple[float, int]] = {}
        self._generation = 0  # bumped by every forget, so a read racing a purge is not stored

    async def read(self, tenant_id: int) -> int:
        """The shared value, never remembered."""
        return await self.cache.get(catalog_version_key(tenant_id), INT) or 0

    async def get(self, tenant_id: int) -> int:
        if not self.remember:
            return await self.read(tenant_id)
        entry = self._versions.get(tenant_id)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        version = await self.read(tenant_id)
        if generation == self._generation:
            self._versions[tenant_id] = (now + self.ttl, version)
        return version

    async def bump(self, tenant_id: int) -> int:
        # Atomic INCR on Redis; the memory cache is one process, so its INCR is exact too.
        return await self.cache.incr(catalog_version_key(tenant_id))

    def forget(self, tags: Iterable[str]) -> None:
        self._generation += 1
        tenant_ids = {int(match.group(1)) for tag in tags if (match := TENANT_IN_TAG.match(tag))}
        if not tenant_ids:
            self._versions.clear()  # a purge naming no tenant (hosts only): forget everything
        for tenant_id in tenant_ids:
            self._versions.pop(tenant_id, None)

    async def listen(self) -> None:
        """Apply other processes' purges until cancelled."""
        async with self.broadcast.subscribe(PURGE_CHANNEL) as messages:
            async for message in messages:
                try:
                    tags = json.loads(message).get("tags", [])
                except (ValueError, AttributeError):
                    log.warning("ignoring malformed purge message %r", message[:200])
                    continue
                self.forget(tags if isinstance(tags, list) else [])

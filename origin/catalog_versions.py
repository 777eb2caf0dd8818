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

When Redis fails (issue 12, items 2 and 3) the storefront keeps serving from
the database: a version that cannot be read is the *last known* one (this
process's pages for it stay valid, and a cache miss falls through to the
database); a bump that cannot be sent is kept and sent again (with a purge of
the tenant) once Redis answers; a version Redis lost in a restart is seeded
above the last known one, so a key or ETag of the old epoch is never reused;
and on a resubscription everything remembered is dropped.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from typing import Awaitable, Callable, Iterable

from edge.cache_keys import catalog_version_key
from edge.tags import PURGE_CHANNEL, purge_message, tenant_tag
from origin.broadcast import Broadcast, follow
from origin.cache import INT, Cache, CacheUnavailable

log = logging.getLogger(__name__)

VERSION_TTL_SECONDS = 2.0
LAST_KNOWN_LIMIT = 65_536  # tenants whose last version this process keeps for an outage
TENANT_IN_TAG = re.compile(r"^t(\d+)(?:-|$)")


class CatalogVersions:
    def __init__(self, cache: Cache, broadcast: Broadcast, *, remember: bool, ttl: float = VERSION_TTL_SECONDS) -> None:
        self.cache = cache
        self.broadcast = broadcast
        self.remember = remember
        self.ttl = ttl
        self._versions: dict[int, tuple[float, int]] = {}
        self._last_known: OrderedDict[int, int] = OrderedDict()
        self._unbumped: set[int] = set()  # bumps Redis missed; sent again once it answers
        self._generation = 0  # bumped by every forget, so a read racing a purge is not stored

    async def read(self, tenant_id: int) -> int:
        """The shared value, never remembered; the last known one when Redis cannot be read."""
        try:
            stored = await self.cache.get_or_fail(catalog_version_key(tenant_id), INT)
        except CacheUnavailable:
            return self._last_known.get(tenant_id, 0)
        if self._unbumped:
            await self._send_unbumped()
            if tenant_id in self._unbumped:
                return self._last_known.get(tenant_id, 0)
            stored = await self.cache.get(catalog_version_key(tenant_id), INT)
        known = self._last_known.get(tenant_id, 0)
        if stored is None and known > 0:
            stored = await self._reseed(tenant_id, known)
        version = stored or 0
        self._remember_last(tenant_id, version)
        return version

    async def _reseed(self, tenant_id: int, known: int) -> int:
        # Redis lost the counter (a restart): continue above what this process saw, so a page
        # key or ETag of the old epoch never names different content. The first process wins.
        key = catalog_version_key(tenant_id)
        if await self.cache.add(key, known + 1, INT):
            return known + 1
        return await self.cache.get(key, INT) or known + 1

    def _remember_last(self, tenant_id: int, version: int) -> None:
        self._last_known[tenant_id] = version
        self._last_known.move_to_end(tenant_id)
        while len(self._last_known) > LAST_KNOWN_LIMIT:
            self._last_known.popitem(last=False)

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

    async def bump(self, tenant_id: int) -> int | None:
        """The new version; None when Redis missed it (kept, and sent again once it answers)."""
        # Atomic INCR on Redis; the memory cache is one process, so its INCR is exact too.
        try:
            version = await self.cache.incr_above(catalog_version_key(tenant_id), self._last_known.get(tenant_id, 0))
        except CacheUnavailable:
            log.warning("catalog version of tenant %s not bumped (Redis unavailable); sent again once it answers", tenant_id)
            self._unbumped.add(tenant_id)
            return None
        self._remember_last(tenant_id, version)
        return version

    async def _send_unbumped(self) -> None:
        for tenant_id in list(self._unbumped):
            try:
                # Above what this process saw: Redis may have restarted empty meanwhile.
                version = await self.cache.incr_above(catalog_version_key(tenant_id), self._last_known.get(tenant_id, 0))
            except CacheUnavailable:
                return
            self._unbumped.discard(tenant_id)
            self._remember_last(tenant_id, version)
            # The other processes (and edges) never heard of the write either.
            await self.broadcast.publish(PURGE_CHANNEL, purge_message(tags=[tenant_tag(tenant_id)], hosts=[]))
        self.forget(())

    def forget(self, tags: Iterable[str]) -> None:
        self._generation += 1
        tenant_ids = {int(match.group(1)) for tag in tags if (match := TENANT_IN_TAG.match(tag))}
        if not tenant_ids:
            self._versions.clear()  # a purge naming no tenant (hosts only): forget everything
        for tenant_id in tenant_ids:
            self._versions.pop(tenant_id, None)

    async def resync(self) -> None:
        """After a reconnect: send what Redis missed, and read every version afresh."""
        if self._unbumped:
            await self._send_unbumped()
        self.forget(())

    async def _apply(self, message: str) -> None:
        try:
            tags = json.loads(message).get("tags", [])
        except (ValueError, AttributeError):
            log.warning("ignoring malformed purge message %r", message[:200])
            return
        self.forget(tags if isinstance(tags, list) else [])

    async def apply_remote_purge(self, message: str) -> None:
        """Another process's purge arriving through the change log (no Redis, origin/broadcast.py).

        Without Redis each process keeps its catalog versions in its own memory cache, so the
        writer's bump moved only its own: bump here too, which retires this process's pages of
        the tenant as the writer's bump retired its own.
        """
        try:
            tags = json.loads(message).get("tags", [])
        except (ValueError, AttributeError):
            return
        for tenant_id in {int(match.group(1)) for tag in (tags if isinstance(tags, list) else []) if isinstance(tag, str) and (match := TENANT_IN_TAG.match(tag))}:
            await self.bump(tenant_id)

    async def listen(self, on_reconnect: Callable[[], Awaitable[None] | None] | None = None) -> None:
        """Apply other processes' purges until cancelled; after a reconnect forget everything.

        ``on_reconnect`` lets the owner of pages keyed by these versions drop them too.
        """

        async def reconnected() -> None:
            await self.resync()
            if on_reconnect is not None:
                result = on_reconnect()
                if result is not None:
                    await result

        await follow(self.broadcast, PURGE_CHANNEL, self._apply, on_reconnect=reconnected, name="catalog versions")

"""In-process layers in front of the shared cache, for the storefront's hot path.

- :class:`LocalPages`: a byte-bounded LRU of rendered pages. Its keys already
  carry the tenant's catalog version, so it never needs invalidating: a write
  changes the version and old entries just age out.
- :class:`LocalVersions`: each tenant's catalog version, remembered briefly so
  a cache hit costs no Redis round trip at all. It is dropped by tenant the
  moment a purge is published from this process (a ``purge_hooks`` entry,
  called by origin.invalidation.publish_purge) and when another process's purge
  arrives on the edge purge channel; the short TTL bounds staleness if a
  pub/sub message is lost. On the embedded default the version is already an
  in-process dict, so it is read directly.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import OrderedDict
from typing import Iterable

from edge.tags import PURGE_CHANNEL
from origin.invalidation import catalog_version
from origin.services import Services

log = logging.getLogger(__name__)

LOCAL_PAGES_BYTES = 32 * 1024 * 1024
VERSION_TTL_SECONDS = 2.0
TENANT_IN_TAG = re.compile(r"^t(\d+)(?:-|$)")


class LocalPages:
    def __init__(self, max_bytes: int = LOCAL_PAGES_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, object] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._bytes = 0

    def get(self, key: str):
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: str, page, size: int) -> None:
        if size > self.max_bytes // 16:
            return  # one huge page must not flush everything else
        if key in self._pages:
            self._bytes -= self._sizes[key]
        self._pages[key] = page
        self._pages.move_to_end(key)
        self._sizes[key] = size
        self._bytes += size
        while self._bytes > self.max_bytes:
            old, _ = self._pages.popitem(last=False)
            self._bytes -= self._sizes.pop(old)


class LocalVersions:
    def __init__(self, services: Services, ttl: float = VERSION_TTL_SECONDS) -> None:
        self.services = services
        self.ttl = ttl
        self._versions: dict[int, tuple[float, int]] = {}
        self._generation = 0  # bumped by every forget, so a read racing a purge is not stored
        services.extras.setdefault("purge_hooks", []).append(self.purge_hook)

    async def get(self, tenant_id: int) -> int:
        if self.services.redis is None:
            return await catalog_version(self.services, tenant_id)
        entry = self._versions.get(tenant_id)
        now = time.monotonic()
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        version = await catalog_version(self.services, tenant_id)
        if generation == self._generation:
            self._versions[tenant_id] = (now + self.ttl, version)
        return version

    def forget(self, tags: Iterable[str]) -> None:
        self._generation += 1
        tenant_ids = {int(match.group(1)) for tag in tags if (match := TENANT_IN_TAG.match(tag))}
        if not tenant_ids:
            self._versions.clear()  # a purge naming no tenant (hosts only): forget everything
        for tenant_id in tenant_ids:
            self._versions.pop(tenant_id, None)

    async def purge_hook(self, tags: list[str], hosts: list[str]) -> None:
        self.forget(tags)

    async def listen(self) -> None:
        """Apply other processes' purges until cancelled."""
        async with self.services.broadcast.subscribe(PURGE_CHANNEL) as messages:
            async for message in messages:
                try:
                    tags = json.loads(message).get("tags", [])
                except (ValueError, AttributeError):
                    log.warning("ignoring malformed purge message %r", message[:200])
                    continue
                self.forget(tags if isinstance(tags, list) else [])

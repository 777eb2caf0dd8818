"""The origin's in-process page tier, in front of the shared cache (docs/decisions.md: one page-cache decision).

:class:`LocalPages` is a byte-bounded LRU of decoded rendered pages. Its keys
carry the tenant's catalog version, so it never needs a purge of its own: a
write bumps the version (origin/invalidation.py, from the same tag events as
the edge) and old entries just age out. Each tenant's version is remembered
per process by ``Services.catalog_versions`` (origin/catalog_versions.py).
"""

from __future__ import annotations

from collections import OrderedDict

LOCAL_PAGES_BYTES = 32 * 1024 * 1024


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

    def clear(self) -> None:
        self._pages.clear()
        self._sizes.clear()
        self._bytes = 0

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

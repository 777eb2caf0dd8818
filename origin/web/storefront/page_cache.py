"""Rendered pages and catalog reads in Services.cache, plus the HTTP caching headers.

Both go through explicit codecs (origin/cache.py): a page is a JSON header line
then its body bytes (:data:`PAGE_CODEC`); each named catalog read has its typed
JSON codec (:data:`READ_CODECS`), so a value another process wrote is decoded
and validated as data, and one that does not decode is a miss.

Keys carry the tenant, its catalog version (origin/invalidation.py: bumped after
every catalog write commits, which retires all of the tenant's entries at once),
the normalized host, the path, the allow-listed query parameters in a canonical
order, and the currency. Anything else in the request (other parameters,
``X-Forwarded-Host``, ``X-Original-URL``, cookies) is never read by a cacheable
page, so it cannot change what another shopper is served.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from quart import Response, current_app, g, request

from edge import cache_keys
from edge import tags as cache_tags
from origin.cache import CodecError, TypedJson
from origin.catalog.models import Collection, Page, Product, ProductSummary, SitemapEntry
from origin.catalog.snapshot import SNAPSHOT_READS, CatalogSnapshots, NotInSnapshot
from origin.catalog_versions import CatalogVersions
from origin.tenancy.resolution import TenantSite
from origin.web.context import SERVICES_KEY, current_services
from origin.web.storefront.local_cache import LocalPages

T = TypeVar("T")

PAGE_TTL_SECONDS = 600
READ_TTL_SECONDS = 600
# Browsers revalidate every time (max-age=0 + ETag: a price change shows on the next
# request); shared caches keep a page until a purge names one of its tags, and may serve
# it for a day while the origin answers 5xx or not at all (issue 12, item 2).
SHARED_CACHE_CONTROL = "public, max-age=0, s-maxage=600, stale-while-revalidate=60, stale-if-error=86400"
NOT_FOUND_CACHE_CONTROL = "public, max-age=0, s-maxage=60"
CACHEABLE_STATUSES = (200, 404)
PAGES_KEY = "zelly.local_pages"
SNAPSHOTS_KEY = "zelly.catalog_snapshots"


@dataclass(frozen=True)
class RenderedPage:
    status: int
    body: bytes
    content_type: str
    tags: tuple[str, ...]
    etag: str


class PageCodec:
    """``{"status", "content_type", "tags", "etag"}`` as one JSON line, then the body bytes."""

    def encode(self, page: RenderedPage) -> bytes:
        head = {"status": page.status, "content_type": page.content_type, "tags": list(page.tags), "etag": page.etag}
        return json.dumps(head, separators=(",", ":")).encode() + b"\n" + page.body

    def decode(self, data: bytes) -> RenderedPage:
        line, newline, body = data.partition(b"\n")
        try:
            head = json.loads(line) if newline else None
        except (ValueError, UnicodeDecodeError):
            head = None
        if not isinstance(head, dict) or set(head) != {"status", "content_type", "tags", "etag"}:
            raise CodecError("not a rendered page")
        status, content_type, tags, etag = head["status"], head["content_type"], head["tags"], head["etag"]
        if not (
            type(status) is int and isinstance(content_type, str) and isinstance(etag, str)
            and isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
        ):
            raise CodecError("not a rendered page")
        return RenderedPage(status=status, body=body, content_type=content_type, tags=tuple(tags), etag=etag)


PAGE_CODEC = PageCodec()
# Each named read's value, boxed in a 1-tuple so a cached None (no such product) is a hit.
READ_CODECS: dict[str, TypedJson] = {
    "collections": TypedJson(tuple[list[Collection]]),
    "collection": TypedJson(tuple[Collection | None]),
    "product": TypedJson(tuple[Product | None]),
    "products": TypedJson(tuple[Page[ProductSummary]]),
    "collection-products": TypedJson(tuple[Page[ProductSummary]]),
    "search": TypedJson(tuple[Page[ProductSummary]]),
    "sitemap": TypedJson(tuple[list[SitemapEntry]]),
}


def make_page(body: str, tags: Sequence[str], *, status: int = 200, content_type: str = "text/html; charset=utf-8") -> RenderedPage:
    data = body.encode()
    etag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    return RenderedPage(status=status, body=data, content_type=content_type, tags=tuple(dict.fromkeys(tags)), etag=etag)


async def request_catalog_version(site: TenantSite) -> int:
    if "catalog_version" not in g:
        g.catalog_version = await local_versions(current_app).get(site.tenant.id)
    return g.catalog_version


def local_versions(app) -> CatalogVersions:
    return app.extensions[SERVICES_KEY].catalog_versions


def local_pages(app) -> LocalPages:
    pages = app.extensions.get(PAGES_KEY)  # not setdefault(): that would build a LocalPages per hit
    if pages is None:
        pages = app.extensions[PAGES_KEY] = LocalPages(app.extensions[SERVICES_KEY].settings.origin_page_cache_bytes)
    return pages


def local_snapshots(app) -> CatalogSnapshots:
    """This process's in-memory catalogs (origin/catalog/snapshot.py), held beside its pages."""
    snapshots = app.extensions.get(SNAPSHOTS_KEY)
    if snapshots is None:
        snapshots = app.extensions[SNAPSHOTS_KEY] = CatalogSnapshots(app.extensions[SERVICES_KEY].db)
    return snapshots


page_cache_key = cache_keys.page_key


async def cached_page(app, services, site: TenantSite, version: int, host: str, path: str, query: Sequence[tuple[str, str]]) -> tuple[str, RenderedPage | None]:
    """(key, page) from this process's LRU, else the shared cache (then kept locally)."""
    key = page_cache_key(site.tenant.id, version, host, path, query, site.tenant.currency)
    pages = local_pages(app)
    page = pages.get(key)
    if page is None:
        page = await services.cache.get(key, PAGE_CODEC)
        if page is not None:
            pages.put(key, page, len(page.body))
    return key, page


def page_etag(key: str) -> str:
    """The ETag of the 200 page stored under ``key``, derivable without the page.

    The key names the tenant, its catalog version, host, path, query and
    currency (edge/cache_keys.page_key), and every write that can change a page
    bumps the version, so one key is one body: a revalidation (the edge's
    If-None-Match, a browser's) is answered 304 from the key alone, with no
    render and no cache read (issue 12, item 6).
    """
    tenant, version, _, digest = key.split(":", 3)
    return f'"{tenant}-{version}-{digest}"'


def not_modified_headers(key: str) -> dict[str, str]:
    """What a 304 from the key alone carries (RFC 9110 15.4.5); the Cache-Tag stays the stored one's."""
    return {"Cache-Control": SHARED_CACHE_CONTROL, "ETag": page_etag(key)}


async def serve_page(
    site: TenantSite, host: str, query: Sequence[tuple[str, str]], build: Callable[[], Awaitable[RenderedPage]]
) -> Response:
    """The cached page for this request, or build, store and serve it."""
    services = current_services()
    version = await request_catalog_version(site)
    key = page_cache_key(site.tenant.id, version, host, request.path, query, site.tenant.currency)
    if etag_matches(request.headers.get("If-None-Match"), page_etag(key)):
        return Response(b"", status=304, headers=not_modified_headers(key))
    key, page = await cached_page(current_app, services, site, version, host, request.path, query)
    if page is None:
        page = keep_locally(current_app, key, await build())
        await share_page(services, key, page)
    return page_response(page)


def keep_locally(app, key: str, built: RenderedPage) -> RenderedPage:
    """A page just built, with the ETag its key gives a 200, kept in this process's LRU; before it is sent,
    so the next request for it is a hit however long the shared cache takes."""
    page = dataclasses.replace(built, etag=page_etag(key)) if built.status == 200 else built
    if page.status in CACHEABLE_STATUSES:
        # A 404 stays in this process: a stranger's random handles must not become
        # shared-cache keys (issue 13, item 2); the LRU bounds what it costs here.
        local_pages(app).put(key, page, len(page.body))
    return page


async def share_page(services, key: str, page: RenderedPage) -> None:
    """A 200 into the shared cache (the other processes' tier)."""
    if page.status == 200:
        await services.cache.set(key, page, PAGE_CODEC, ttl=PAGE_TTL_SECONDS)


def page_headers(page: RenderedPage) -> dict[str, str]:
    return {
        "Cache-Control": SHARED_CACHE_CONTROL if page.status == 200 else NOT_FOUND_CACHE_CONTROL,
        "Cache-Tag": cache_tags.cache_tag_header(page.tags),
        "ETag": page.etag,
    }


def is_not_modified(page: RenderedPage, if_none_match: str | None) -> bool:
    return page.status == 200 and etag_matches(if_none_match, page.etag)


def page_response(page: RenderedPage) -> Response:
    headers = page_headers(page)
    if is_not_modified(page, request.headers.get("If-None-Match")):
        return Response(b"", status=304, headers=headers)
    return Response(page.body, status=page.status, content_type=page.content_type, headers=headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [item.strip().removeprefix("W/") for item in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


async def catalog_read(site: TenantSite, name: str, args: tuple[Any, ...], query: Callable[..., Awaitable[T]], *positional: Any, **keywords: Any) -> T:
    """``query(conn, *positional, **keywords)`` (an origin/catalog/queries.py read) answered from memory when it can be.

    The tenant's snapshot at this request's catalog version answers with the same
    function's in-memory twin (no round trip, no decode: issue 14, item 2); without
    one (being built, too big, or a case only SQL decides) the read goes through
    the shared read cache to SQL as before.
    """
    version = await request_catalog_version(site)
    snapshot = local_snapshots(current_app).get(site.tenant.id, version)
    if snapshot is not None:
        try:
            return SNAPSHOT_READS[query](snapshot, *positional, **keywords)
        except NotInSnapshot:
            pass
    return await cached_read(site, name, args, lambda conn: query(conn, *positional, **keywords))


async def cached_read(site: TenantSite, name: str, args: tuple[Any, ...], load: Callable[[Any], Awaitable[T]]) -> T:
    """A catalog read through the cache: ``load(conn)`` runs only on a miss; ``name`` picks its codec."""
    services = current_services()
    codec = READ_CODECS[name]
    version = await request_catalog_version(site)
    key = cache_keys.read_key(site.tenant.id, version, name, args)
    value = await services.cache.get(key, codec)
    if value is not None:
        return value[0]
    async with services.db.connect() as conn:
        loaded = await load(conn)
    if loaded is not None:
        # "No such product" is not shared: anyone can ask for a million handles that do
        # not exist, and each answer would be a shared-cache key (issue 13, item 2).
        await services.cache.set(key, (loaded,), codec, ttl=READ_TTL_SECONDS)
    return loaded

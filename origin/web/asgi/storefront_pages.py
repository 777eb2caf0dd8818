"""Last layer of the public app: storefront pages, hits and misses, answered before Quart builds a request.

A cache hit needs only the Host (resolved from the in-process LRU), the
tenant's catalog version, and the page key, all computed by the same
functions the handlers use (``canonical_query``, ``page_cache_key``), so this
path can only ever serve what the handler would have served from the cache.
Quart's own request machinery costs several hundred microseconds per request,
which alone would cap a core far below the 4,000 hits/s issue 3 asks for.

A miss (issue 14: a page no cache has seen, which on a multi-tenant platform
is most pages) is built here too, by the same builder the route calls
(``pages.page_builder``), inside an app context (``current_app`` and ``g`` for
the catalog reads, cards and renderer) but without a request context, URL
routing, request hooks or a ``Response``; it goes into this process's LRU and
the shared cache before it is sent, as the route's does. tests/storefront/test_lean_pages.py holds
both paths to the same answers, byte for byte, headers included.

Falls through to Quart unchanged: POST and other methods, an LRU miss for the
Host, a suspended store, a redirect hook that answers, a query the page would
reject (its themed 400), a path the builder does not claim (the router's 404,
the variant picker's redirect), a site record the LRU replaced while the miss
awaited its version and page reads (a theme or template change landing after
the version was read: the route resolves afresh) or one stamped older than the
catalog version (a tenant change whose tenancy message has not arrived: the
route reads it again, origin/tenancy/resolution.py), and a build that raised an error Quart's
handlers answer (a catalog error's 400, the database's 503): nothing has been
sent by then, and the route builds again and answers it.

The Host arrives parsed (host.py) and already cleared by the guards
(domain_guard.py): every guard runs before this path (issue 10, item 1).
"""

from __future__ import annotations

from typing import Any, Callable

from urllib.parse import parse_qsl

from quart import g
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict

from observability.context import bind_tenant
from origin.domains.routing import decide_host_redirect
from origin.errors import ZellyError
from origin.web.asgi.host import request_host
from origin.web.asgi.responses import ASGIApp, send_body, send_not_modified
from origin.web.context import SERVICES_KEY
from origin.web.storefront.page_cache import (
    RenderedPage, cached_page, etag_matches, is_not_modified, keep_locally, local_versions, not_modified_headers,
    page_cache_key, page_etag, page_headers, share_page,
)
from origin.web.storefront.listing import BadListingInput, canonical_query
from origin.web.storefront.pages import page_builder
from origin.web.storefront.site import app_resolver


class StorefrontPages:
    def __init__(self, downstream: ASGIApp, quart_app) -> None:
        self.quart_app = quart_app
        self.downstream = downstream

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not await self._answer(scope, send):
            await self.downstream(scope, receive, send)

    async def _answer(self, scope: dict[str, Any], send: Callable) -> bool:
        services = self.quart_app.extensions.get(SERVICES_KEY)
        if services is None:
            return False
        path = scope["path"]
        try:
            args = MultiDict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True, errors="werkzeug.url_quote"))
            query = canonical_query(path, args)
        except (BadListingInput, UnicodeDecodeError):
            return False  # the handler renders the 400
        if query is None:
            return False
        host, site = app_resolver(self.quart_app).cached(request_host(scope))
        if site is None or not site.tenant.is_active:
            return False
        if await decide_host_redirect(services, host, site):
            return False
        bind_tenant(site.tenant.id)
        version = await local_versions(self.quart_app).get(site.tenant.id)
        inm = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                inm = value.decode("latin-1")
                break
        if inm is not None:
            # A revalidation (the edge's, a browser's) is answered from the key alone:
            # no cache read, no render (page_cache.page_etag).
            key = page_cache_key(site.tenant.id, version, host, path, query, site.tenant.currency)
            if etag_matches(inm, page_etag(key)):
                await send_not_modified(send, [(n.lower().encode(), v.encode()) for n, v in not_modified_headers(key).items()])
                return True
        key, page = await cached_page(self.quart_app, services, site, version, host, path, query)
        is_miss = page is None
        if is_miss:
            page = await self._build(site, host, path, args, version)
            if page is None:
                return False
            page = keep_locally(self.quart_app, key, page)
            await share_page(services, key, page)  # before the answer, as the route does (docs/decisions.md)
        response_headers = [(name.lower().encode(), value.encode()) for name, value in page_headers(page).items()]
        if is_not_modified(page, inm):
            await send_not_modified(send, response_headers)
        else:
            await send_body(send, page.status, page.body, page.content_type.encode(), response_headers, is_head=scope["method"] == "HEAD")
        return True

    async def _build(self, site, host: str, path: str, args: MultiDict, version: int) -> RenderedPage | None:
        """The page the route would build, or None to leave the request to Quart."""
        build = page_builder(site, path, args)
        if build is None or not app_resolver(self.quart_app).is_current(host, site, version):
            # Not a page the layer claims, the site record changed during the awaits above, or it is older
            # than the catalog version (a tenant change: the route reads it again, resolution.py).
            return None
        async with self.quart_app.app_context():
            # What current_site() and request_catalog_version() would have put there: the reads see the
            # version this request's key names.
            g.storefront_site, g.storefront_host, g.catalog_version = site, host, version
            try:
                return await build()
            except (ZellyError, SQLAlchemyError):
                return None  # answered by the route's and the app's error handlers

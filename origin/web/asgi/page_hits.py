"""Last layer of the public app: a cached storefront page is answered before Quart builds a request.

A cache hit needs only the Host (resolved from the in-process LRU), the
tenant's catalog version, and the page key, all computed by the same
functions the handlers use (``canonical_query``, ``page_cache_key``), so the
fast path can only ever serve what the handler would have served from the
cache. Anything else (LRU miss, cache miss, a redirect hook that answers, a
suspended store, a query the page would reject, POST, cookies-setting routes)
falls through to Quart unchanged. Quart's own request machinery costs several
hundred microseconds per request, which alone would cap a core far below the
4,000 hits/s issue 3 asks for.

The Host arrives parsed (host.py) and already cleared by the guards
(domain_guard.py): every guard runs before this fast path (issue 10, item 1).
"""

from __future__ import annotations

from typing import Any, Callable

from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict

from observability.context import bind_tenant
from origin.domains.routing import decide_host_redirect
from origin.web.asgi.host import request_host
from origin.web.asgi.responses import ASGIApp, send_body, send_not_modified
from origin.web.context import SERVICES_KEY
from origin.web.storefront.page_cache import (
    cached_page, etag_matches, is_not_modified, local_versions, not_modified_headers, page_cache_key, page_etag, page_headers,
)
from origin.web.storefront.listing import BadListingInput, canonical_query
from origin.web.storefront.site import app_resolver


class PageHits:
    def __init__(self, downstream: ASGIApp, quart_app) -> None:
        self.quart_app = quart_app
        self.downstream = downstream

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not await self._try_cache(scope, send):
            await self.downstream(scope, receive, send)

    async def _try_cache(self, scope: dict[str, Any], send: Callable) -> bool:
        services = self.quart_app.extensions.get(SERVICES_KEY)
        if services is None:
            return False
        try:
            args = MultiDict(parse_qsl(scope["query_string"].decode(), keep_blank_values=True, errors="werkzeug.url_quote"))
            query = canonical_query(scope["path"], args)
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
            key = page_cache_key(site.tenant.id, version, host, scope["path"], query, site.tenant.currency)
            if etag_matches(inm, page_etag(key)):
                await send_not_modified(send, [(n.lower().encode(), v.encode()) for n, v in not_modified_headers(key).items()])
                return True
        _, page = await cached_page(self.quart_app, services, site, version, host, scope["path"], query)
        if page is None:
            return False
        response_headers = [(name.lower().encode(), value.encode()) for name, value in page_headers(page).items()]
        if is_not_modified(page, inm):
            await send_not_modified(send, response_headers)
        else:
            await send_body(send, page.status, page.body, page.content_type.encode(), response_headers, is_head=scope["method"] == "HEAD")
        return True


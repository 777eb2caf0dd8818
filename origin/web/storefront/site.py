"""The storefront's per-request context: which site, which theme, how errors look.

Every storefront handler starts with :func:`current_site`, which resolves the
Host the outermost ASGI layer parsed (origin/web/asgi/host.py, which already
answered a malformed one with its 400) to a tenant (origin.tenancy.resolution)
and turns every way that can fail into a finished response (404 unknown host,
503 suspended store, or a redirect decided by the domains feature), raised as
:class:`Halt`.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections import OrderedDict
from typing import Any, Iterable

from markupsafe import Markup

from quart import Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from edge import tags as cache_tags
from origin.catalog.storefront_queries import select_theme_templates
from observability import tracing
from observability.context import bind_tenant
from origin.domains.routing import decide_host_redirect
from origin.tenancy.resolution import TenantResolver, TenantSite
from origin.tenancy.themes import do_record_theme_budget_error
from origin.web.asgi.host import request_host
from origin.web.context import SERVICES_KEY, current_services
from origin.web.redirects import redirect_response, request_target
from storefront.rendering import ThemeProblem, ThemeRenderer
from storefront.views import PageMeta, ProductCardView, ShopView, build_product_card, build_shop

log = logging.getLogger(__name__)

RESOLVER_KEY = "zelly.tenant_resolver"
RENDERER_KEY = "zelly.theme_renderer"
CARDS_KEY = "zelly.product_cards"
MAX_MEMOIZED_CARDS = 20_000  # about 1 KB each (view + markup): 20 MB per process at most

HTML = "text/html; charset=utf-8"
NO_STORE = "private, no-store"


class Halt(Exception):
    """A finished response that ends the handler early (error page or redirect)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def resolver() -> TenantResolver:
    return app_resolver(current_app)


def app_resolver(app) -> TenantResolver:
    """The app's one resolver (its LRU is shared by handlers and the ASGI fast path)."""
    extensions = app.extensions
    if RESOLVER_KEY not in extensions:
        extensions[RESOLVER_KEY] = TenantResolver(extensions[SERVICES_KEY], load_templates=select_theme_templates)
    return extensions[RESOLVER_KEY]


def renderer() -> ThemeRenderer:
    extensions = current_app.extensions
    if RENDERER_KEY not in extensions:
        services = extensions[SERVICES_KEY]

        async def keep_budget_error(problem: ThemeProblem) -> None:
            # On the template's row, so the theme API shows it whichever process served the page.
            try:
                await do_record_theme_budget_error(services, problem.tenant_id, problem.source_name or problem.template, problem.describe())
            except SQLAlchemyError:  # the shopper's page matters more: it is logged by the renderer already
                log.warning("could not keep tenant %s's theme budget error", problem.tenant_id, exc_info=True)

        extensions[RENDERER_KEY] = ThemeRenderer(on_budget_error=keep_budget_error)
    return extensions[RENDERER_KEY]


@functools.lru_cache(maxsize=1024)
def shop_view(site: TenantSite) -> ShopView:
    # TenantSite hashes by identity and a cached site object is immutable, so this is per site record.
    return build_shop(site.tenant, site.base_url)


async def current_site() -> TenantSite:
    """The active tenant site for this request's Host, or Halt with the right page."""
    if "storefront_site" in g:
        return g.storefront_site
    # The record is no older than the catalog version this request's pages and reads use (g.catalog_version):
    # a tenant change is on the next page built after its purge, whatever pub/sub has delivered (issue 14).
    host, site, version = await resolver().resolve_current(request_host(request.scope))
    target = await decide_host_redirect(current_services(), host, site)
    if target:
        # 308, not 301: keeps the method and body (issue 4), so a POST to the apex is not turned into a GET.
        response = redirect_response(target + request_target(), 308, cache_control="public, max-age=300")
        # Tagged like pages, so a cached redirect goes with a primary-domain change (the tenant's purge)
        # and with the name changing hands (the host's purge), instead of outliving both (issue 13, item 5).
        response.headers["Cache-Tag"] = cache_tags.cache_tag_header([cache_tags.tenant_tag(site.tenant.id), cache_tags.host_tag(host)])
        raise Halt(response)
    if site is None:
        raise Halt(platform_page(404, "Store not found", "There is no store at this address. Check the spelling of the address, or contact the shop."))
    if not site.tenant.is_active:
        raise Halt(platform_page(503, "Store unavailable", "This store is unavailable right now. Please try again later.", retry_after=3600))
    g.storefront_host = host
    g.storefront_site = site
    g.catalog_version = version
    bind_tenant(site.tenant.id)  # every log line and metric of this request names the store
    return site


def current_host() -> str:
    return g.storefront_host


def platform_page(status: int, heading: str, message: str, *, retry_after: int | None = None) -> Response:
    """Zelly-branded, names no tenant, never cached (a host may become a store any minute)."""
    body = renderer().render_platform(heading, message)
    response = Response(body, status=status, content_type=HTML)
    response.headers["Cache-Control"] = "no-store"
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def render(site: TenantSite, template: str, page: PageMeta, **context: Any) -> str:
    """The default theme renders on the loop; a tenant's overrides in the renderer's threads, on a budget.

    Templates do no I/O and render synchronously (Jinja's async mode costs 40-50 % more);
    only merchant code leaves the loop, because only it can be slow on purpose (issue 13).
    """
    started = time.perf_counter()
    with tracing.span("render", {"zelly.template": template}):
        body = await renderer().render_async(
            template,
            {"shop": shop_view(site), "page": page, **context},
            tenant_id=site.tenant.id,
            overrides=site.template_overrides,
        )
    # Labelled by the page's template: the theme's fixed set of names (an override keeps its page's name).
    current_services().metrics.render_seconds.labels(template.removesuffix(".html")).observe(time.perf_counter() - started)
    return body


async def cards(site: TenantSite, summaries: Iterable[Any]) -> tuple[ProductCardView, ...]:
    """Product cards with their markup, each rendered once per (site record, product summary).

    The key is the summary's value, not its id or updated_at (a second's resolution
    could hide a write): equal summaries render equal cards. The site record is
    replaced whenever the tenant, its theme or its overrides change
    (origin/tenancy/resolution.py), and it is held by the key, so an old site's
    cards are never served for a new one and age out of the LRU (issue 14, item 2).
    """
    memo: OrderedDict | None = current_app.extensions.get(CARDS_KEY)
    if memo is None:
        memo = current_app.extensions[CARDS_KEY] = OrderedDict()
    built = []
    for summary in summaries:
        key = (site, summary)
        card = memo.get(key)
        if card is None:
            shop = shop_view(site)
            card = build_product_card(shop, summary)
            # A merchant's card override renders off the loop on its budget, like every page (issue 13).
            html = await renderer().render_async("partials/product_card.html", {"shop": shop, "product": card},
                                                 tenant_id=site.tenant.id, overrides=site.template_overrides)
            card = dataclasses.replace(card, html=Markup(html))
            memo[key] = card
            if len(memo) > MAX_MEMOIZED_CARDS:
                memo.popitem(last=False)
        else:
            memo.move_to_end(key)
        built.append(card)
    return tuple(built)


async def themed_error(site: TenantSite, status: int, heading: str, message: str) -> Response:
    """A shop-themed error page (bad filter values, unknown variant...). Not cached."""
    page = PageMeta(title=f"{heading} – {site.tenant.name}", robots="noindex")
    template = "not_found.html" if status == 404 else "error.html"
    body = await render(site, template, page, heading=heading, message=message)
    response = Response(body, status=status, content_type=HTML)
    response.headers["Cache-Control"] = NO_STORE
    return response

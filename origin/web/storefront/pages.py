"""Storefront pages on tenant hosts: home, collections, products, search, sitemap, robots.

Each handler: resolve the site (storefront_site), parse and validate the few
query parameters it reads (storefront_listing), then serve from the page cache
or read the catalog (through the read cache), render synchronously and cache.
Cart routes live in origin/web/storefront/cart.py; they are never cached.

Routes are strict: a handle must match the catalog's handle rules, so
``/products/x.css`` or ``/products/x;y`` is a 404, never a product page.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from pathlib import Path
from typing import Awaitable, Callable, Mapping
from xml.sax.saxutils import escape as xml_escape

from quart import Blueprint, Response, current_app, request, send_from_directory
from werkzeug.exceptions import HTTPException

from edge import tags as cache_tags
from origin.catalog import queries as catalog
from origin.catalog.errors import CatalogError
from origin.catalog.inputs import HANDLE_PATTERN
from origin.catalog.models import Page
from origin.errors import ErrorKind
from origin.tenancy.resolution import TenantSite, listening
from origin.web.context import SERVICES_KEY
from origin.web.errors import json_error, status_for, wants_json
from origin.web.storefront.page_cache import (
    RenderedPage,
    cached_read,
    catalog_read,
    local_pages,
    local_snapshots,
    local_versions,
    make_page,
    serve_page,
)
from origin.web.storefront.local_cache import LocalPages
from origin.web.storefront.listing import (
    SORT_LABELS,
    OPTION_FIELDS,
    BadListingInput,
    ListingParams,
    canonical_query,
    collection_listing,
    parse_options,
    parse_search,
    parse_variant,
)
from origin.web.redirects import redirect_response
from origin.web.storefront.site import Halt, cards, current_host, current_site, render, resolver, shop_view, themed_error
from storefront import views
from storefront.i18n import N_
from storefront.theme import default_favicon_svg

blueprint = Blueprint("storefront", __name__)

ASSETS_DIR = Path(views.__file__).parent / "assets"
PER_PAGE = 24
HOME_PRODUCTS = 8


def storefront_route(handler):
    """Turn Halt (error pages, redirects) and bad listing input into responses."""

    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        try:
            return await handler(*args, **kwargs)
        except Halt as halt:
            return halt.response
        except BadListingInput as error:
            site = await current_site()
            shop = shop_view(site)
            return await themed_error(site, 400, shop.gettext(N_("Please check the address")), shop.text(error.message, **error.params))
        except CatalogError as error:
            if error.kind is not ErrorKind.INVALID:
                raise
            site = await current_site()
            return await themed_error(site, status_for(error, page=True), shop_view(site).gettext(N_("Please check the address")), error.message)

    return wrapper


async def not_found_page(site: TenantSite, message: str) -> RenderedPage:
    """``message``: a msgid, said in the shop's language."""
    shop = shop_view(site)
    page = views.PageMeta(title=f"{shop.gettext(N_('Page not found'))} – {site.tenant.name}", robots="noindex")
    body = await render(site, "not_found.html", page, message=shop.gettext(message))
    return make_page(body, [cache_tags.tenant_tag(site.tenant.id)], status=404)


async def listing_view(site, result, params: ListingParams, path: str, *, sorts: tuple[str, ...], default_sort: str) -> views.ListingView:
    shop = shop_view(site)
    return views.ListingView(
        products=await cards(site, result.items),
        next_url=params.url(path, cursor=result.next_cursor, default_sort=default_sort) if result.next_cursor else None,
        first_url=params.url(path, default_sort=default_sort) if params.cursor else None,
        sort_options=views.build_sort_options(params.sort, {s: shop.gettext(SORT_LABELS[s]) for s in sorts}),
        available_only=params.available_only,
        price_min="" if params.price_min is None else str(params.price_min),
        price_max="" if params.price_max is None else str(params.price_max),
    )


def product_tags(site: TenantSite, product_ids) -> list[str]:
    tenant_id = site.tenant.id
    return [cache_tags.tenant_tag(tenant_id), *(cache_tags.product_tag(tenant_id, pid) for pid in product_ids)]


# --------------------------------------------------------------------------- pages
# Each page is a route (parse, then serve_page) and a builder: ``*_page(site, ...)`` parses what the page
# reads of the query (BadListingInput before anything is read) and returns the coroutine function that
# reads the catalog and renders. The routes and the lean miss path (origin/web/asgi/storefront_pages.py,
# through :func:`page_builder`) call the same builders, so both render the same page (issue 14).

Build = Callable[[], Awaitable[RenderedPage]]


def home_page(site: TenantSite) -> Build:
    async def build() -> RenderedPage:
        tenant_id = site.tenant.id
        shop = shop_view(site)
        collections = await catalog_read(site, "collections", (), catalog.select_collections, tenant_id)
        wanted = shop.theme.featured_collection
        featured = next((c for c in collections if c.handle == wanted), collections[0] if collections else None)
        if featured is not None:
            result = await catalog_read(
                site, "collection-products", (featured.id, "manual", HOME_PRODUCTS, None),
                catalog.select_collection_products, tenant_id, featured.id, limit=HOME_PRODUCTS,
            )
        else:
            result = await catalog_read(site, "products", ("newest", HOME_PRODUCTS, None), catalog.select_products, tenant_id, limit=HOME_PRODUCTS)
        page = views.PageMeta(
            title=site.tenant.name,
            description=shop.theme.hero_text or shop.text(N_("Shop %(shop)s online."), shop=site.tenant.name),
            canonical_url=shop.absolute("/"),
        )
        body = await render(
            site, "home.html", page,
            featured=views.build_collection(featured) if featured else None,
            featured_products=await cards(site, result.items),
            collections=tuple(views.build_collection(c) for c in collections),
        )
        tags = product_tags(site, (item.id for item in result.items))
        tags += [cache_tags.collection_tag(tenant_id, c.id) for c in collections]
        return make_page(body, tags)

    return build


def collection_page(site: TenantSite, handle: str, args: Mapping[str, str]) -> Build:
    is_all = handle == "all"
    params, sorts, default_sort = collection_listing(handle, args)

    async def build() -> RenderedPage:
        tenant_id = site.tenant.id
        if not HANDLE_PATTERN.match(handle):
            return await not_found_page(site, N_("There is no collection at this address."))
        shop = shop_view(site)
        filters = dict(limit=PER_PAGE, cursor=params.cursor, available_only=params.available_only,
                       price_min=params.price_min, price_max=params.price_max)
        if is_all:
            found = views.CollectionView(id=0, handle="all", url="/collections/all", title=shop.gettext(N_("All products")),
                                         description_html=views.Markup(""), image_url=None)
            result = await catalog_read(site, "products", (params,), catalog.select_products, tenant_id, sort=params.sort, **filters)
            tags = []
        else:
            record = await catalog_read(site, "collection", (handle,), catalog.select_collection_by_handle, tenant_id, handle)
            if record is None:
                return await not_found_page(site, N_("There is no collection at this address."))
            found = views.build_collection(record)
            result = await catalog_read(
                site, "collection-products", (record.id, params), catalog.select_collection_products, tenant_id, record.id, sort=params.sort, **filters
            )
            tags = [cache_tags.collection_tag(tenant_id, record.id)]
        canonical = params.url(found.url, cursor=params.cursor, default_sort=default_sort)
        page = views.PageMeta(
            title=f"{found.title} – {site.tenant.name}",
            # Every listing has a description (Lighthouse SEO); the merchant's text when there is one.
            description=views.plain_text(found.description_html)[:300]
            or shop.text(N_("%(collection)s at %(shop)s."), collection=found.title, shop=site.tenant.name),
            canonical_url=shop.absolute(canonical),
        )
        listing = await listing_view(site, result, params, found.url, sorts=sorts, default_sort=default_sort)
        body = await render(site, "collection.html", page, collection=found, listing=listing)
        return make_page(body, [*product_tags(site, (item.id for item in result.items)), *tags])

    return build


def product_page(site: TenantSite, handle: str, args: Mapping[str, str]) -> Build:
    """``args`` without the variant picker's options (the route answers those with a redirect)."""
    variant_id = parse_variant(args)

    async def build() -> RenderedPage:
        tenant_id = site.tenant.id
        if not HANDLE_PATTERN.match(handle):
            return await not_found_page(site, N_("There is no product at this address."))
        record = await catalog_read(site, "product", (handle,), catalog.select_product_by_handle, tenant_id, handle)
        if record is None:
            return await not_found_page(site, N_("This product is not available in this shop."))
        # The page is a function of the site record, the product record and the variant it shows (an
        # unknown ?variant= shows the default one), all values: a purge that bumped the catalog version
        # for another product's write leaves this page's key changed and its body the same (issue 14).
        shown = variant_id if any(variant.id == variant_id for variant in record.variants) else None
        memo = product_pages(current_app)
        memo_key = (site, record, shown)
        page = memo.get(memo_key)
        if page is None:
            page = await render_product(site, record, shown)
            memo.put(memo_key, page, len(page.body))
        return page

    return build


PRODUCT_PAGES_KEY = "zelly.product_pages"


def product_pages(app) -> LocalPages:
    memo = app.extensions.get(PRODUCT_PAGES_KEY)
    if memo is None:
        # Half the page tier's bound (16 MiB by default: ~1,000 product pages of the demo's size per process).
        memo = app.extensions[PRODUCT_PAGES_KEY] = LocalPages(app.extensions[SERVICES_KEY].settings.origin_page_cache_bytes // 2)
    return memo


async def render_product(site: TenantSite, record, variant_id: int | None) -> RenderedPage:
    shop = shop_view(site)
    view = views.build_product(shop, record, variant_id)
    page = views.PageMeta(
        title=f"{record.title} – {site.tenant.name}",
        description=views.plain_text(record.description_html)[:300],
        canonical_url=shop.absolute(view.url),
        og_type="product",
        og_image=views.first_image_url(shop, view.images),
        json_ld=views.product_json_ld(shop, record),
    )
    body = await render(site, "product.html", page, product=view)
    return make_page(body, product_tags(site, (record.id,)))


def search_page(site: TenantSite, args: Mapping[str, str]) -> Build:
    query_text, cursor = parse_search(args)

    async def build() -> RenderedPage:
        tenant_id = site.tenant.id
        if query_text:
            result = await catalog_read(
                site, "search", (query_text, cursor), catalog.search_products, tenant_id, query_text, limit=PER_PAGE, cursor=cursor
            )
        else:
            result = Page(items=(), next_cursor=None)
        path = "/search?" + views.urlencode_pairs([("q", query_text)])
        listing = views.ListingView(
            products=await cards(site, result.items),
            next_url=f"{path}&cursor={result.next_cursor}" if result.next_cursor else None,
            first_url=path if cursor else None,
        )
        shop = shop_view(site)
        title = shop.text(N_("Search: %(query)s"), query=query_text) if query_text else shop.gettext(N_("Search"))
        page = views.PageMeta(
            title=f"{title} – {site.tenant.name}",
            description=shop.text(N_("Search the products of %(shop)s."), shop=site.tenant.name),
            robots="noindex",
        )
        body = await render(site, "search.html", page, query=query_text, listing=listing)
        return make_page(body, product_tags(site, (item.id for item in result.items)))

    return build


def sitemap_page(site: TenantSite) -> Build:
    async def build() -> RenderedPage:
        entries = await cached_read(site, "sitemap", (), lambda conn: catalog.select_sitemap_entries(conn, site.tenant.id))
        shop = shop_view(site)
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        lines.append(f"<url><loc>{xml_escape(shop.absolute('/'))}</loc></url>")
        for entry in entries:
            lastmod = entry.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            lines.append(f"<url><loc>{xml_escape(shop.absolute(entry.path))}</loc><lastmod>{lastmod}</lastmod></url>")
        lines.append("</urlset>")
        return make_page("\n".join(lines) + "\n", [cache_tags.tenant_tag(site.tenant.id)], content_type="application/xml; charset=utf-8")

    return build


def robots_page(site: TenantSite) -> Build:
    async def build() -> RenderedPage:
        body = "User-agent: *\nDisallow: /cart\nDisallow: /search\n\nSitemap: " + shop_view(site).absolute("/sitemap.xml") + "\n"
        return make_page(body, [cache_tags.tenant_tag(site.tenant.id)], content_type="text/plain; charset=utf-8")

    return build


def page_builder(site: TenantSite, path: str, args: Mapping[str, str]) -> Build | None:
    """The builder of the page the routes below serve at ``path``, or None where Quart's routing decides.

    The lean miss path asks this; it only takes paths whose route is certain (a handle the catalog's
    rules accept, product pages without the variant picker's options), so anything else (a 404
    of the router, the picker's redirect) is still answered by Quart.
    """
    if path == "/":
        return home_page(site)
    if path == "/search":
        return search_page(site, args)
    if path == "/sitemap.xml":
        return sitemap_page(site)
    if path == "/robots.txt":
        return robots_page(site)
    section, _, handle = path[1:].partition("/")
    if not HANDLE_PATTERN.match(handle):
        return None
    if section == "collections":
        return collection_page(site, handle, args)
    if section == "products" and parse_options(args) is None:
        return product_page(site, handle, args)
    return None


@blueprint.get("/")
@storefront_route
async def home():
    site = await current_site()
    return await serve_page(site, current_host(), canonical_query(request.path, request.args), home_page(site))


@blueprint.get("/collections/<handle>")
@storefront_route
async def collection(handle: str):
    site = await current_site()
    build = collection_page(site, handle, request.args)
    return await serve_page(site, current_host(), canonical_query(request.path, request.args), build)


@blueprint.get("/products/<handle>")
@storefront_route
async def product(handle: str):
    site = await current_site()
    chosen_options = parse_options(request.args)
    if chosen_options is not None and HANDLE_PATTERN.match(handle):
        # The variant picker without JavaScript: the chosen values -> that variant's page (the URL names it).
        record = await catalog_read(site, "product", (handle,), catalog.select_product_by_handle, site.tenant.id, handle)
        if record is not None:
            variant = views.variant_for_options(record.variants, chosen_options)
            location = views.product_url(handle) + (f"?variant={variant.id}" if variant is not None else "")
            response = redirect_response(location, 303)
            response.headers["Cache-Control"] = "private, no-store"
            return response
    # Options with no product to match (unknown handle): the same page as without them.
    args = {name: value for name, value in request.args.items() if name not in OPTION_FIELDS}
    build = product_page(site, handle, args)
    return await serve_page(site, current_host(), canonical_query(request.path, args), build)


@blueprint.get("/search")
@storefront_route
async def search():
    site = await current_site()
    build = search_page(site, request.args)
    return await serve_page(site, current_host(), canonical_query(request.path, request.args), build)


@blueprint.get("/sitemap.xml")
@storefront_route
async def sitemap():
    site = await current_site()
    return await serve_page(site, current_host(), canonical_query(request.path, request.args), sitemap_page(site))


@blueprint.get("/robots.txt")
@storefront_route
async def robots():
    site = await current_site()
    return await serve_page(site, current_host(), canonical_query(request.path, request.args), robots_page(site))


@blueprint.get("/favicon.svg")
@blueprint.get("/favicon.ico")
@storefront_route
async def favicon():
    """The merchant's icon (a redirect to it) or the default drawn from the shop's initial and colour."""
    site = await current_site()
    theme = shop_view(site).theme
    if theme.favicon_url:
        response = redirect_response(theme.favicon_url, 302)
    else:
        response = Response(default_favicon_svg(theme), content_type="image/svg+xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Cache-Tag"] = cache_tags.tenant_tag(site.tenant.id)  # purged with a theme change
    return response


@blueprint.get("/assets/<path:filename>")
async def asset(filename: str):
    """The theme's static files (variant picker, analytics script): same for every tenant."""
    response = await send_from_directory(ASSETS_DIR, filename)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


# --------------------------------------------------------------------------- errors and lifecycle
# App-wide hooks of the storefront: origin/app.py registers them on the public app, so the
# list of everything a request meets stays in one place.


async def not_found(error: HTTPException):
    """Unmatched paths: JSON for API paths, the shop's themed 404 on a tenant host."""
    if wants_json():
        return json_error(404, "not_found", error.description or "not found")
    try:
        site = await current_site()
    except Halt as halt:
        return halt.response
    response = Response((await not_found_page(site, N_("We could not find that page in this shop."))).body, status=404,
                        content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=0, s-maxage=60"
    response.headers["Cache-Tag"] = cache_tags.tenant_tag(site.tenant.id)
    return response


async def never_cache_cookies(response: Response) -> Response:
    """A response that sets a cookie is private to one shopper: no shared cache may keep it."""
    if "Set-Cookie" in response.headers:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers.pop("Cache-Tag", None)
        response.headers.pop("ETag", None)
    return response


async def listeners():
    """For as long as the app serves: drop Host -> tenant answers on TENANCY_CHANNEL
    messages, and remembered catalog versions on other processes' purges."""
    app = current_app._get_current_object()
    # Pages are keyed by catalog version; after a reconnect the versions may have restarted
    # (an emptied Redis), so this process's pages go with them (issue 12, item 3).
    snapshots = local_snapshots(app)

    def reconnected() -> None:
        local_pages(app).clear()
        snapshots.clear()  # keyed by the same versions as the pages

    versions = asyncio.create_task(local_versions(app).listen(on_reconnect=reconnected))
    try:
        async with listening(resolver()):
            yield
    finally:
        versions.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await versions
        await snapshots.close()

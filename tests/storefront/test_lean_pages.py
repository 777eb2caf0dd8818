"""A page miss built on the lean ASGI path answers exactly what the Quart route answers (issue 14).

origin/web/asgi/storefront_pages.py builds a miss with the route's own builder
(``pages.page_builder``) without Quart's request cycle. Here the same app is
driven through its full layer stack (the store warm in the resolver's LRU: the
lean path) and through the same stack without that layer (every request
reaches the route), URL by URL, each time with no page cached anywhere: the
status, every header and the body bytes must match. Both backends.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any
from urllib.parse import parse_qsl

import pytest
from quart import Quart
from werkzeug.datastructures import MultiDict

from origin.app import PUBLIC_LAYERS, create_app
from origin.catalog.actions import do_update_variant
from origin.web.asgi.storefront_pages import StorefrontPages
from origin.web.storefront.listing import BadListingInput, canonical_query
from origin.web.storefront.pages import product_pages
from origin.web.storefront.page_cache import PAGE_CODEC, local_pages, local_snapshots, local_versions, page_cache_key
from origin.web.storefront.site import app_resolver
from tests.storefront.shops import two_shops

URLS: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/", {}),
    ("GET", "/collections/summer", {}),
    ("GET", "/collections/summer?price_min=8.5&sort=price-desc", {}),
    ("GET", "/collections/summer?available=1&price_max=100", {}),
    ("GET", "/collections/summer?sort=price-asc&available=1&price_min=0.5&price_max=9", {}),
    ("GET", "/collections/all?price_max=20", {}),
    ("GET", "/collections/all?sort=title-asc", {}),
    ("GET", "/collections/nothing-here", {}),
    ("GET", "/products/linen-shirt", {}),
    ("GET", "/products/linen-shirt?variant=1", {}),
    ("GET", "/products/mug?variant=999999", {}),
    ("GET", "/products/no-such-product", {}),
    ("GET", "/search?q=linen", {}),
    ("GET", "/search?q=", {}),
    ("GET", "/search?q=shirt+linen&utm_source=x", {}),
    ("GET", "/sitemap.xml", {}),
    ("GET", "/robots.txt", {}),
    ("HEAD", "/collections/summer?price_min=1", {}),
    ("GET", "/collections/summer?price_min=2", {"if-none-match": '"not-this-one"'}),
    ("GET", "/collections/summer?price_min=3", {"accept-encoding": "gzip", "cookie": "a=b", "x-forwarded-host": "evil.example"}),
    # Not the lean path's: the route answers (both sides pass it on), and the answers still match.
    ("GET", "/collections/summer?sort=nope", {}),
    ("GET", "/products/linen-shirt?option1=M", {}),
    ("GET", "/products/Not_A_Handle", {}),
    ("GET", "/collections/", {}),
]


def without_lean_pages(app: Quart):
    """The app's own layers without StorefrontPages: every request reaches Quart's routes."""
    asgi = functools.partial(Quart.asgi_app, app)
    for layer in reversed([layer for layer in PUBLIC_LAYERS if layer is not StorefrontPages]):
        asgi = layer(asgi, app)
    return asgi


async def call(asgi, method: str, host: str, target: str, headers: dict[str, str]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "http_version": "1.1", "asgi": {"spec_version": "2.1"}, "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", host.encode()), *((name.encode(), value.encode()) for name, value in headers.items())],
        "client": ("203.0.113.7", 50000), "server": ("127.0.0.1", 8000), "extensions": {},
    }
    answer: dict[str, Any] = {"body": b""}
    done = asyncio.Event()
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            # X-Request-Id is new for every request (observability's Observed layer): present, not compared.
            answer["headers"] = sorted((name.lower(), value) for name, value in message["headers"] if name.lower() != b"x-request-id")
            answer["request_ids"] = [value for name, value in message["headers"] if name.lower() == b"x-request-id"]
        else:
            answer["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()

    await asgi(scope, receive, send)
    assert len(answer.get("request_ids", [])) <= 1  # one, when the Observed layer is in front
    # What goes on the wire: the server drops a HEAD answer's body (Quart's ASGI sends it; the raw layers don't).
    return answer["status"], answer["headers"], b"" if method == "HEAD" else answer["body"]


async def forget_page(app, services, site, target: str) -> None:
    """No tier holds the page any more: the next request for it is a miss."""
    path, _, query = target.partition("?")
    local_pages(app).clear()
    try:
        pairs = canonical_query(path, MultiDict(parse_qsl(query, keep_blank_values=True)))
    except BadListingInput:
        return  # a 400 page: never cached
    if pairs is not None:
        version = await local_versions(app).get(site.tenant.id)
        await services.cache.delete(page_cache_key(site.tenant.id, version, site.canonical_host, path, pairs, site.tenant.currency))


@pytest.fixture
async def warm_app(services):
    acme, nordic = await two_shops(services)
    app = create_app(services.settings, services=services)
    async with app.test_app():
        for shop in (acme, nordic):
            await app_resolver(app).resolve(shop.host)  # warm: the lean path answers what the LRU knows
        await call(app.asgi_app, "GET", acme.host, "/collections/all", {})  # starts the catalog snapshot
        await local_snapshots(app).settle()
        yield app, acme


@pytest.mark.parametrize(("method", "target", "headers"), URLS, ids=[f"{m} {t} {h}" for m, t, h in URLS])
async def test_a_miss_on_the_lean_path_answers_what_the_route_answers(services, warm_app, method, target, headers):
    app, acme = warm_app
    _, site = app_resolver(app).cached(acme.host)
    await forget_page(app, services, site, target)

    lean = await call(app.asgi_app, method, acme.host, target, headers)
    await forget_page(app, services, site, target)
    route = await call(without_lean_pages(app), method, acme.host, target, headers)

    assert lean == route
    assert lean[0] < 500


async def test_a_miss_is_built_without_quart_and_shared_with_other_processes(services, warm_app):
    app, acme = warm_app
    _, site = app_resolver(app).cached(acme.host)

    async def no_quart(scope, receive, send):
        raise AssertionError("reached Quart")

    lean = StorefrontPages(no_quart, app)

    async def with_host(scope, receive, send):
        scope["zelly.host"] = acme.host  # what HostParse puts there
        await lean(scope, receive, send)

    target = "/collections/summer?price_min=7"
    status, headers, body = await call(with_host, "GET", acme.host, target, {})
    version = await local_versions(app).get(acme.tenant.id)
    key = page_cache_key(acme.tenant.id, version, acme.host, "/collections/summer", [("price_min", "7")], "USD")
    shared = await services.cache.get(key, PAGE_CODEC)
    with pytest.raises(AssertionError, match="reached Quart"):
        await call(with_host, "GET", acme.host, "/collections/summer?sort=nope", {})  # its 400 is the route's

    assert status == 200
    assert b"Acme Linen Shirt" in body and (b"cache-tag", f"t{acme.tenant.id}".encode()) not in headers
    assert shared is not None and shared.body == body and shared.status == 200
    assert dict(headers)[b"etag"] == shared.etag.encode()


async def test_a_product_page_after_another_product_s_write_is_not_rendered_again(services, warm_app):
    app, acme = warm_app
    memo = product_pages(app)
    _, before = await get_page(app, acme.host, "/products/mug")
    rendered = {key: page for key, page in memo._pages.items()}

    await do_update_variant(services, acme.tenant.id, acme.shirt.variants[0].id, {"price": "5.00"})  # the shirt, not the mug
    _, after = await get_page(app, acme.host, "/products/mug")
    unchanged = {key: page for key, page in memo._pages.items()}
    await do_update_variant(services, acme.tenant.id, acme.mug.variants[0].id, {"price": "9.25"})
    status, repriced = await get_page(app, acme.host, "/products/mug")

    assert after == before  # the same bytes, from the memo: the version changed, the mug did not
    assert len(rendered) == 1 and all(unchanged[key] is page for key, page in rendered.items())
    assert status == 200 and b"$9.25" in repriced and b"$9.25" not in before
    assert len(memo._pages) == 2


async def get_page(app, host: str, target: str) -> tuple[int, bytes]:
    status, _, body = await call(app.asgi_app, "GET", host, target, {})
    return status, body


# Collection misses in an order that reuses each memoized part (cards, chrome, the heading and filter form keyed by
# collection, sort options and in-stock filter) under other per-request values (the price filters as typed).
MEMO_ORDER = [
    "/collections/summer?price_min=1",
    "/collections/summer?price_min=2&price_max=30",
    "/collections/summer?price_min=1.5",
    "/collections/summer?available=1&price_max=5",
    "/collections/summer?available=1&price_max=6",
    "/collections/summer?sort=price-desc&price_min=0.5",
    "/collections/summer?sort=price-desc&price_max=12",
    "/collections/all?price_min=3",
    "/collections/all?sort=title-asc&price_max=1000",
    "/collections/all?price_min=4",
]


async def test_a_collection_miss_from_memoized_parts_is_the_page_a_fresh_process_renders(services, warm_app):
    app, acme = warm_app
    _, site = app_resolver(app).cached(acme.host)
    memoized = []
    for target in MEMO_ORDER:
        await forget_page(app, services, site, target)
        memoized.append(await call(app.asgi_app, "GET", acme.host, target, {}))

    fresh_answers = []
    for target in MEMO_ORDER:  # each in a process of its own: nothing memoized, the whole page rendered
        await forget_page(app, services, site, target)
        fresh = create_app(services.settings, services=services)
        async with fresh.test_app():
            fresh_answers.append(await call(fresh.asgi_app, "GET", acme.host, target, {}))

    assert [answer[0] for answer in memoized] == [200] * len(MEMO_ORDER)
    for target, lean, whole in zip(MEMO_ORDER, memoized, fresh_answers):
        assert lean == whole, target
    price_inputs = [(attribute_of(body, "price_min"), attribute_of(body, "price_max")) for _, _, body in memoized]
    assert price_inputs[:3] == [("1", ""), ("2", "30"), ("1.5", "")]  # the same form, each request's values


def attribute_of(body: bytes, input_id: str) -> str:
    from tests.storefront.conftest import attribute, parse_html

    return attribute(parse_html(body.decode()), f".//input[@id='{input_id}']", "value")

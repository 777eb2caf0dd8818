"""Cache keys: paths a router could read two ways never share an entry with another page."""

from __future__ import annotations

import pytest

from edge.config import EdgeConfig
from edge.routes import route
from edge.keys import Uncacheable, cache_host, encoding_class, normalize_path, normalize_query
from tests.edge.conftest import shop
from tests.edge.rawhttp import raw_get


@pytest.mark.parametrize("raw, expected", [
    (b"/products/hat", "/products/hat"),
    (b"/products/h%61t", "/products/hat"),
    (b"/products/%c3%a9t%C3%A9", "/products/%C3%A9t%C3%A9"),
    (b"/products/\xc3\xa9", "/products/%C3%A9"),
    (b"/", "/"),
    (b"/collections/all/", "/collections/all/"),
])
def test_paths_have_one_spelling(raw: bytes, expected: str) -> None:
    assert normalize_path(raw) == expected


@pytest.mark.parametrize("raw", [
    b"/account;x.css", b"/account/%2Fx.css", b"/account%2fx.css", b"/account%3Fx.css", b"/account%23x",
    b"/%2e%2e/account", b"/products/%2E/hat", b"/products/../account", b"/products/./hat", b"//products",
    b"/a\\b", b"/a%5Cb", b"/a%00b", b"/a%zz", b"/a%2", b"/a b", b"relative", b"/a%25",
])
def test_ambiguous_paths_are_uncacheable(raw: bytes) -> None:
    with pytest.raises(Uncacheable) as raised:
        normalize_path(raw)

    assert raised.value.reason == "path"


@pytest.mark.parametrize("value, expected", [
    ("Shop.Example.COM", "shop.example.com"), ("shop.example.com.:443", "shop.example.com"),
    ("127.0.0.1:8080", "127.0.0.1"), ("[::1]:8002", "[::1]"),
])
def test_hosts_are_normalized(value: str, expected: str) -> None:
    assert cache_host(value) == expected


# A Unicode name is IDNA-encoded like everywhere else (tests/test_hostile_hosts.py); bytes that are not UTF-8 are refused.
@pytest.mark.parametrize("value", ["", "shop example", "shop/evil", "a..b", "shop.test:abc", "[::1", "évil.test".encode("latin-1")])
def test_bad_hosts_are_uncacheable(value: str) -> None:
    with pytest.raises(Uncacheable):
        cache_host(value)


def test_query_drops_tracking_and_unread_parameters_and_sorts_the_rest() -> None:
    config = EdgeConfig()
    collection = config.route_table.find("/collections/all")

    assert normalize_query(b"sort=price&utm_medium=x&page=2&utm_campaign=y&gclid=1&cursor=b&cursor=a", config, collection) == "cursor=b&sort=price"  # the first value only, as the origin reads it
    assert normalize_query(b"q=caf%C3%A9+au+lait&admin=1", config, config.route_table.find("/search")) == "q=caf%C3%A9%20au%20lait"
    assert normalize_query(b"page=1&utm_source=x", config, config.route_table.find("/")) == ""
    with pytest.raises(Uncacheable):
        normalize_query(b"page=1", config, None)  # a path no route declares
    assert normalize_query(b"utm_source=x", config, None) == ""


def test_routes_and_the_tracking_list_are_configurable() -> None:
    config = EdgeConfig(routes=(route("/shop/*", "color"),), tracking_params=("ref_*",))

    assert normalize_query(b"color=red&ref_src=x&size=m", config, config.route_table.find("/shop/hats")) == "color=red"
    assert config.route_table.find("/products/hat") is None
    with pytest.raises(Uncacheable):
        normalize_query(b"page=2", config, config.route_table.find("/products/hat"))


@pytest.mark.parametrize("path, pattern", [
    ("/", "/"), ("/search", "/search"), ("/collections/all", "/collections/*"), ("/products/hat", "/products/*"),
    ("/media/demo/acme/x.svg", "/media/**"), ("/assets/theme.css", "/assets/**"),
    ("/products/hat/extra", None), ("/products/", None), ("/collections", None), ("/cart", None), ("/searchx", None),
])
def test_the_route_table_finds_each_path_s_route(path: str, pattern: str | None) -> None:
    found = EdgeConfig().route_table.find(path)

    assert (found.pattern if found else None) == pattern


@pytest.mark.parametrize("header, expected", [
    (None, "identity"), (b"gzip, deflate, br", "br"), (b"br;q=0, gzip", "gzip"), (b"deflate", "identity"), (b"GZIP;q=0.5", "gzip"),
])
def test_accept_encoding_classes(header, expected) -> None:
    assert encoding_class(header) == expected


async def test_account_css_and_ambiguous_variants_are_never_cached_as_other_pages(edge) -> None:
    app, client, origin = edge
    origin.set("/account/x.css", cache_control="private, no-store")
    origin.set("/account", cache_control="private, no-store")
    url = str(client.base_url)
    page = await client.get("/products/hat", headers=shop())

    results = {}
    for target in ("/account/x.css", "/account;x.css", "/account%2Fx.css", "/account%3Fx.css", "/products/hat;x.css",
                   "/products/hat%2F..%2F..%2Faccount", "/products/%2e%2e/hat", "/products/./hat"):
        await raw_get(url, target, shop(cookie="zelly_session=victim"))  # the victim's visit
        status, headers, body = await raw_get(url, target, shop())  # the attacker's
        results[target] = (headers["cache-status"], body.startswith(b"GET shop-a.test/products/hat #"))

    assert results == {
        "/account/x.css": ("Zelly; fwd=uri-miss; fwd-status=200; detail=private", False),
        "/account;x.css": ("Zelly; fwd=bypass; detail=path", False),
        "/account%2Fx.css": ("Zelly; fwd=bypass; detail=path", False),
        "/account%3Fx.css": ("Zelly; fwd=bypass; detail=path", False),
        "/products/hat;x.css": ("Zelly; fwd=bypass; detail=path", False),
        "/products/hat%2F..%2F..%2Faccount": ("Zelly; fwd=bypass; detail=path", False),
        "/products/%2e%2e/hat": ("Zelly; fwd=bypass; detail=path", False),
        "/products/./hat": ("Zelly; fwd=bypass; detail=path", False),
    }
    assert page.text == "GET shop-a.test/products/hat #1"
    assert [key for key in app.store._entries] == ["GET|shop-a.test/products/hat?|gzip"]


async def test_an_encoded_unreserved_character_is_the_same_page(edge) -> None:
    app, client, origin = edge
    url = str(client.base_url)

    await raw_get(url, "/products/hat", shop())
    status, headers, body = await raw_get(url, "/products/h%61t", shop())

    assert headers["cache-status"].startswith("Zelly; hit")
    assert body == b"GET shop-a.test/products/hat #1"

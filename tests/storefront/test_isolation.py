"""Tenant isolation and cache poisoning: what one request sends never changes what another shopper gets."""

from __future__ import annotations

from origin.tenancy.actions import do_suspend_tenant
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import two_shops


async def test_same_handle_in_two_tenants_each_host_sees_its_own(services, client):
    acme, nordic = await two_shops(services)

    _, acme_html = await get(client, "ACME.localhost.", "/products/linen-shirt")
    _, nordic_html = await get(client, "nordic.localhost:8000", "/products/linen-shirt")

    assert texts(parse_html(acme_html), ".//h1") == ["Acme Linen Shirt"]
    assert texts(parse_html(nordic_html), ".//h1") == ["Nordic Linen Shirt"]
    assert "Nordic" not in acme_html and "Acme" not in nordic_html


async def test_unknown_hosts_get_a_platform_404_naming_no_tenant(services, client):
    await two_shops(services)

    for host in ("nobody.localhost", "localhost", "127.0.0.1:8000", "acme.localhost.evil.example", "www.localhost", "[::1]:8000"):
        response, html = await get(client, host, "/products/linen-shirt")
        page = parse_html(html)

        assert response.status_code == 404, host
        assert texts(page, ".//h1") == ["Store not found"], host
        assert response.headers["Cache-Control"] == "no-store"
        assert "Acme" not in html and "Nordic" not in html and "linen" not in html.lower(), host


async def test_malformed_host_is_a_400(services, client):
    await two_shops(services)

    for host in ("acme..localhost", "acme.localhost:99999", "bad_host.localhost", "-acme.localhost", "a" * 300):
        response, html = await get(client, host, "/")

        assert response.status_code == 400, host
        assert texts(parse_html(html), ".//h1") == ["Bad request"]


async def test_suspended_store_is_a_503(services, client):
    acme, nordic = await two_shops(services)
    await do_suspend_tenant(services, acme.tenant.id)

    response, html = await get(client, acme.host, "/")
    other, _ = await get(client, nordic.host, "/")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3600"
    assert texts(parse_html(html), ".//h1") == ["Store unavailable"]
    assert "Acme" not in html
    assert other.status_code == 200


async def test_forwarded_host_never_reaches_urls_or_the_cache(services, client):
    acme, nordic = await two_shops(services)

    # A poisoner asks first, with every header a proxy might trust...
    poisoned, poisoned_html = await get(
        client, acme.host, "/products/linen-shirt",
        **{"X-Forwarded-Host": "evil.example", "X-Original-URL": "/products/mug", "X-Rewrite-URL": "/products/mug",
           "X-Forwarded-Proto": "http", "X-Host": "nordic.localhost", "Forwarded": "host=evil.example"},
    )
    # ...then a shopper asks plainly and gets the cached page.
    response, html = await get(client, acme.host, "/products/linen-shirt")
    page = parse_html(html)

    assert poisoned.status_code == 200
    assert html == poisoned_html
    assert response.headers["ETag"] == poisoned.headers["ETag"]
    assert texts(page, ".//h1") == ["Acme Linen Shirt"]
    assert attribute(page, ".//link[@rel='canonical']", "href") == "https://acme.localhost:8443/products/linen-shirt"
    assert "evil.example" not in html and "Nordic" not in html


async def test_odd_query_parameters_share_the_clean_page(services, client):
    acme, _ = await two_shops(services)

    _, clean = await get(client, acme.host, "/collections/summer?sort=price-asc")
    _, with_junk = await get(client, acme.host, "/collections/summer?utm_source=x&sort=price-asc&fbclid=1&%3Cscript%3E=1")
    _, reordered = await get(client, acme.host, "/collections/summer?available=0&sort=price-asc&sort=title-desc")
    junk_page = parse_html(with_junk)

    assert with_junk == clean
    assert reordered == clean  # the first value of a repeated parameter wins; a default adds nothing
    assert "utm_source" not in with_junk and "<script>=" not in with_junk
    assert attribute(junk_page, ".//link[@rel='canonical']", "href") == "https://acme.localhost:8443/collections/summer?sort=price-asc"


async def test_cookies_do_not_change_a_cacheable_page(services, client):
    acme, _ = await two_shops(services)

    _, plain = await get(client, acme.host, "/products/mug")
    response, with_cookie = await get(client, acme.host, "/products/mug", Cookie="zelly_cart=forged.value; session=abc")

    assert with_cookie == plain
    assert "Set-Cookie" not in response.headers

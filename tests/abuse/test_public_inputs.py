"""No 500 from input (issue 13, "What to build" 10 and the "Public 500s" list).

Each input from the issue, sent as an attacker would (no account, or a store's
own API token), gets a clear 4xx on both backends, and no cart is made.
"""

from __future__ import annotations

import base64
import json

import pytest

from origin.tenancy.actions import do_create_tenant, do_issue_api_token
from origin.tenancy.errors import TenancyError, TenancyErrorCode
from origin.tenancy.tables import tenants
from tests.abuse.conftest import raw_request
from tests.conftest import count_rows, swap_in_place
from tests.storefront.conftest import get
from tests.storefront.shops import two_shops
from tests.storefront.test_resolution import add_domain


def storefront_cursor(value, last_id) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, last_id]).encode()).decode().rstrip("=")


EVENT = {"type": "product_view", "url": "http://acme.localhost/products/linen-shirt", "props": {"product_id": "²"}}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# name -> (method, Host, request-target, body, content type, with the store's API token?)
# Written as the bytes go on the wire: UTF-8 where the attacker sent UTF-8, escapes where they sent escapes.
INPUTS = {
    "variant_superscript": ("GET", "acme.localhost", "/products/linen-shirt?variant=%C2%B2", "", None, False),
    "variant_superscript_raw": ("GET", "acme.localhost", "/products/linen-shirt?variant=²", "", None, False),
    "variant_arabic_digit": ("GET", "acme.localhost", "/products/linen-shirt?variant=%D9%A3", "", None, False),
    "variant_huge": ("GET", "acme.localhost", "/products/linen-shirt?variant=" + "9" * 40, "", None, False),
    "cart_add_superscript": ("POST", "acme.localhost", "/cart/add", "variant_id=%C2%B2&quantity=1", FORM, False),
    "cart_add_quantity": ("POST", "acme.localhost", "/cart/add", "variant_id=1&quantity=%C2%B2", FORM, False),
    "events_deep_json": ("POST", "acme.localhost", "/events", "[" * 60_000, JSON, False),
    "events_deep_valid_json": ("POST", "acme.localhost", "/events", "[" * 500 + "]" * 500, JSON, False),
    "events_product_id": ("POST", "acme.localhost", "/events", json.dumps(EVENT), JSON, False),
    "cursor_huge_id": ("GET", "acme.localhost", "/collections/summer?cursor=" + storefront_cursor(1, 10**30), "", None, False),
    "cursor_huge_value": ("GET", "acme.localhost", "/collections/summer?cursor=" + storefront_cursor(10**30, 1), "", None, False),
    "cursor_huge_price": ("GET", "acme.localhost", "/collections/summer?sort=price-asc&cursor=" + storefront_cursor("1e999999", 1), "", None, False),
    "cursor_search_id": ("GET", "acme.localhost", "/search?q=linen&cursor=" + storefront_cursor("a", 2**63), "", None, False),
    "analytics_tz_directory": ("GET", "localhost", "/api/v1/analytics/summary?tz=America", "", None, True),
    "analytics_tz_path": ("GET", "localhost", "/api/v1/analytics/summary?tz=../../../etc/passwd", "", None, True),
    "api_orders_cursor": ("GET", "localhost", "/api/v1/orders?cursor=%C2%B2", "", None, True),
    "api_collections_cursor": ("GET", "localhost", "/api/v1/collections?cursor=%C2%B2", "", None, True),
    "api_emails_cursor": ("GET", "localhost", "/api/v1/emails?cursor=%C2%B2", "", None, True),
    "api_deep_json": ("POST", "localhost", "/api/v1/products", "[" * 60_000, JSON, True),
    "host_port_superscript": ("GET", "x:²", "/", "", None, False),
    "host_port_arabic": ("GET", "acme.localhost:٨٠", "/", "", None, False),
}


@pytest.mark.parametrize("name", sorted(INPUTS))
async def test_public_input_gets_a_clear_4xx(services, public_port, name):
    method, host, target, body, content_type, is_api = INPUTS[name]
    acme, _ = await two_shops(services)
    headers = {b"host": host.encode()}
    if content_type:
        headers[b"content-type"] = content_type.encode()
    if is_api:
        headers[b"authorization"] = b"Bearer " + (await do_issue_api_token(services, acme.tenant.id)).token.encode()
    if method == "POST":
        headers[b"origin"] = f"http://{host}".encode()

    status, response_headers, response_body = await raw_request(public_port, method, target.encode(), headers, body.encode())

    assert 400 <= status < 500, (status, response_body[:300])
    assert b"Traceback" not in response_body
    assert "cart" not in response_headers.get("set-cookie", "")  # no cart was made from the bad input


async def test_crlf_in_a_redirected_path_stays_in_the_path(services, public_port):
    acme, _ = await two_shops(services)
    await add_domain(services, acme.tenant.id, "acme.example")
    await add_domain(services, acme.tenant.id, "www.acme.example", is_primary=True)

    status, headers, _ = await raw_request(public_port, "GET", b"/products/x%0D%0ASet-Cookie:%20a=b?q=%0D%0A", {b"host": b"acme.example"})

    assert status == 308  # the redirect to the primary domain is kept, the path percent-encoded as sent
    assert headers["location"].endswith("://www.acme.example:%d/products/x%%0D%%0ASet-Cookie:%%20a=b?q=%%0D%%0A" % services.settings.https_port) or headers[
        "location"
    ].endswith("/products/x%0D%0ASet-Cookie:%20a=b?q=%0D%0A")
    assert "set-cookie" not in headers


@pytest.mark.parametrize("slug", ["xn--80ak6aa92e", "xn--aaa", "ab--c"])
async def test_slug_with_hyphens_in_positions_three_and_four_is_refused(services, slug):
    with pytest.raises(TenancyError) as refused:
        await do_create_tenant(services, slug=slug, name="Homograph", currency="USD")
    async with services.db.connect() as conn:
        stored = await count_rows(conn, tenants, slug=slug)

    assert refused.value.code == TenancyErrorCode.INVALID_SLUG.value
    assert "third and fourth" in refused.value.message
    assert stored == 0


async def test_slug_with_hyphens_elsewhere_is_kept(services):
    tenant = await do_create_tenant(services, slug="a-b-c--d", name="Hyphens", currency="USD")

    assert tenant.slug == "a-b-c--d"


async def test_cart_cookie_is_host_prefixed_over_https(services, client):
    acme, _ = await two_shops(services)

    added = await client.post("/cart/add", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "1"}, headers={"Host": acme.host})
    cookie = added.headers["Set-Cookie"]
    _, html = await get(client, acme.host, "/cart")

    assert services.settings.public_scheme == "https"
    assert cookie.startswith("__Host-zelly_cart=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    assert "Acme Mug" in html  # the prefixed cookie is the one read back


async def test_cart_cookie_keeps_its_plain_name_in_dev_over_http(services, client):
    acme, _ = await two_shops(services)
    swap_in_place(services, settings=services.settings.replace(public_scheme="http"))

    added = await client.post("/cart/add", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "1"}, headers={"Host": acme.host})
    cookie = added.headers["Set-Cookie"]
    _, html = await get(client, acme.host, "/cart")

    assert cookie.startswith("zelly_cart=")
    assert "Secure" not in cookie
    assert "Acme Mug" in html


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


async def test_api_and_dashboard_send_security_headers(services, client):
    acme, _ = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token

    api = await client.get("/api/v1/products", headers={"Host": "localhost", "Authorization": f"Bearer {token}"})
    api_error = await client.get("/api/v1/products", headers={"Host": "localhost"})
    dashboard = await client.get("/analytics/dashboard?link=1.2.3.forged", headers={"Host": "localhost"})
    reference = await client.get("/api/v1/docs", headers={"Host": "localhost"})

    assert (api.status_code, api_error.status_code, dashboard.status_code) == (200, 401, 401)
    for response in (api, api_error, dashboard):
        assert [response.headers.get(name) is not None for name in SECURITY_HEADERS] == [True] * 4
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src 'self'" in reference.headers["Content-Security-Policy"]  # the reference page keeps its own

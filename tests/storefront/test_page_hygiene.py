"""What Lighthouse and a careful shopper check on every page: an icon, headings in order, descriptions."""

from __future__ import annotations

import re

import pytest

from origin.tenancy.actions import do_issue_api_token
from tests.storefront.conftest import attribute, get, parse_html
from tests.storefront.shops import two_shops
from tests.storefront.test_theme_api import api, settle

PAGES = ["/", "/collections/summer", "/collections/all", "/products/linen-shirt", "/search?q=linen", "/search", "/cart"]


def heading_levels(page) -> list[int]:
    return [int(element.tag[1]) for element in page.iter() if re.fullmatch(r"h[1-6]", str(element.tag))]


@pytest.mark.parametrize("path", PAGES)
async def test_headings_start_at_h1_and_never_skip_a_level(services, client, path):
    acme, _ = await two_shops(services)

    _, html = await get(client, acme.host, path)
    levels = heading_levels(parse_html(html))

    assert levels[0] == 1 and levels.count(1) == 1, levels
    assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:])), levels


@pytest.mark.parametrize("path", ["/", "/collections/summer", "/collections/all", "/products/linen-shirt", "/search?q=linen"])
async def test_every_listing_and_product_has_a_meta_description(services, client, path):
    acme, nordic = await two_shops(services)  # "summer" has no description of its own

    _, html = await get(client, acme.host, path)
    _, german = await get(client, nordic.host, path)

    assert attribute(parse_html(html), ".//meta[@name='description']", "content")
    assert attribute(parse_html(german), ".//meta[@name='description']", "content")


async def test_collection_description_falls_back_to_the_collection_and_shop(services, client):
    acme, nordic = await two_shops(services)

    _, html = await get(client, acme.host, "/collections/summer")
    _, german = await get(client, nordic.host, "/collections/all")

    assert attribute(parse_html(html), ".//meta[@name='description']", "content") == "Summer at Acme Store."
    assert attribute(parse_html(german), ".//meta[@name='description']", "content") == "Alle Produkte bei Nordic Store."


async def test_every_store_has_a_default_icon_of_its_own(services, client):
    acme, nordic = await two_shops(services)

    ico, ico_body = await get(client, acme.host, "/favicon.ico")
    svg, svg_body = await get(client, acme.host, "/favicon.svg")
    _, nordic_body = await get(client, nordic.host, "/favicon.ico")
    _, page = await get(client, acme.host, "/")
    unknown = await client.get("/favicon.ico", headers={"Host": "nobody.localhost"})

    assert ico.status_code == 200 and svg.status_code == 200
    assert ico.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert ico.headers["Cache-Tag"] == f"t{acme.tenant.id}"
    assert ico_body == svg_body and ">A</text>" in ico_body and 'fill="#1f4e79"' in ico_body
    assert ">N</text>" in nordic_body
    assert attribute(parse_html(page), ".//link[@rel='icon']", "href") == "/favicon.svg"
    assert unknown.status_code == 404


async def test_merchant_sets_and_removes_the_store_icon(services, client):
    acme, nordic = await two_shops(services)
    token = (await do_issue_api_token(services, acme.tenant.id)).token
    await get(client, acme.host, "/")  # cached site record first

    put, put_body = await api(client, "PUT", "/api/v1/theme/favicon", token, {"url": "https://cdn.example.com/acme.png"})
    bad, bad_body = await api(client, "PUT", "/api/v1/theme/favicon", token, {"url": "javascript:alert(1)"})
    await settle()
    moved = await client.get("/favicon.ico", headers={"Host": acme.host})
    _, page = await get(client, acme.host, "/")
    _, nordic_page = await get(client, nordic.host, "/")
    removed, removed_body = await api(client, "DELETE", "/api/v1/theme/favicon", token)
    await settle()
    back = await client.get("/favicon.ico", headers={"Host": acme.host})

    assert put.status_code == 200 and put_body == {"url": "https://cdn.example.com/acme.png"}
    assert bad.status_code == 422 and bad_body["error"]["fields"][0]["path"] == "url"
    assert moved.status_code == 302 and moved.headers["Location"] == "https://cdn.example.com/acme.png"
    assert attribute(parse_html(page), ".//link[@rel='icon']", "href") == "https://cdn.example.com/acme.png"
    assert attribute(parse_html(nordic_page), ".//link[@rel='icon']", "href") == "/favicon.svg"
    assert removed.status_code == 200 and removed_body == {"url": None}
    assert back.status_code == 200 and back.headers["Content-Type"].startswith("image/svg+xml")

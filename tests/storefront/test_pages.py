"""Every storefront page rendered for two tenants with different currencies, checked by parsing."""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree

from origin.catalog.inputs import NewVariant
from tests.factories import make_product
from tests.storefront.conftest import attribute, get, json_ld, parse_html, texts
from tests.storefront.shops import two_shops


async def test_product_page_for_two_currencies(services, client):
    acme, nordic = await two_shops(services)

    _, acme_html = await get(client, "acme.localhost:8000", "/products/linen-shirt")
    response, nordic_html = await get(client, "nordic.localhost", "/products/linen-shirt")
    acme_page, nordic_page = parse_html(acme_html), parse_html(nordic_html)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert texts(acme_page, ".//h1") == ["Acme Linen Shirt"]
    assert texts(acme_page, ".//span[@data-price]") == ["$1,234.50"]
    assert texts(acme_page, ".//span[@data-compare-at-amount]") == ["$2,469.00"]
    assert texts(nordic_page, ".//h1") == ["Nordic Linen Shirt"]
    assert texts(nordic_page, ".//span[@data-price]") == ["99,90 €"]
    assert attribute(nordic_page, ".", "lang") == "de-DE"
    assert attribute(acme_page, ".", "lang") == "en-US"
    assert texts(acme_page, ".//p[@data-availability]") == ["In stock"]
    radios = acme_page.findall(".//form[@data-variant-picker]//input[@type='radio']")
    assert texts(acme_page, ".//form[@data-variant-picker]//legend") == ["Size"]
    assert [(r.get("name"), r.get("value"), r.get("data-state"), "checked" in r.attrib) for r in radios] == [
        ("option1", "S", "available", True),
        ("option1", "M", "sold-out", False),
    ]
    assert texts(acme_page, ".//form[@data-variant-picker]//label") == ["S", "M · Sold out"]
    assert texts(nordic_page, ".//form[@data-variant-picker]//label") == ["S", "M · Ausverkauft"]
    assert attribute(acme_page, ".//form[@action='/cart/add']/input[@name='variant_id']", "value") == str(acme.shirt.variants[0].id)
    assert attribute(acme_page, ".//link[@rel='canonical']", "href") == "https://acme.localhost:8443/products/linen-shirt"
    assert attribute(acme_page, ".//meta[@property='og:url']", "content") == "https://acme.localhost:8443/products/linen-shirt"
    assert attribute(acme_page, ".//meta[@property='og:type']", "content") == "product"
    assert attribute(acme_page, ".//meta[@property='og:image']", "content") == "https://acme.localhost:8443/media/acme/shirt.svg"
    assert attribute(acme_page, ".//div[@class='gallery']/img", "alt") == "A linen shirt"
    assert texts(acme_page, ".//div[@class='description']") == ["Soft linen."]


async def test_product_json_ld_has_one_offer_per_variant(services, client):
    acme, nordic = await two_shops(services)

    _, html = await get(client, "nordic.localhost", "/products/linen-shirt")
    document = json_ld(parse_html(html))

    assert document["@type"] == "Product"
    assert document["name"] == "Nordic Linen Shirt"
    assert document["brand"] == {"@type": "Brand", "name": "Nordic Mills"}
    assert document["url"] == "https://nordic.localhost:8443/products/linen-shirt"
    assert document["offers"] == [
        {
            "@type": "Offer",
            "url": f"https://nordic.localhost:8443/products/linen-shirt?variant={nordic.shirt.variants[0].id}",
            "sku": "nordic-S",
            "price": "99.90",
            "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock",
        },
        {
            "@type": "Offer",
            "url": f"https://nordic.localhost:8443/products/linen-shirt?variant={nordic.shirt.variants[1].id}",
            "sku": "nordic-M",
            "price": "100.90",
            "priceCurrency": "EUR",
            "availability": "https://schema.org/OutOfStock",
        },
    ]


async def test_json_ld_cannot_break_out_of_its_script(services, client):
    acme, _ = await two_shops(services)
    await make_product(services, acme.tenant.id, title="</script><script>alert(1)</script>", handle="evil")

    _, html = await get(client, acme.host, "/products/evil")
    page = parse_html(html)

    assert json_ld(page)["name"] == "</script><script>alert(1)</script>"
    assert len(page.findall(".//script")) == 5  # JSON-LD, variant data, variant picker, analytics, cart count: nothing injected


async def test_variant_query_selects_that_variant(services, client):
    acme, _ = await two_shops(services)
    sold_out = acme.shirt.variants[1]

    _, html = await get(client, acme.host, f"/products/linen-shirt?variant={sold_out.id}")
    page = parse_html(html)

    assert texts(page, ".//span[@data-price]") == ["$1,235.50"]
    assert texts(page, ".//p[@data-availability]") == ["Sold out"]
    assert page.find(".//button[@data-add-button]").get("disabled") is not None


async def test_home_shows_hero_and_featured_collection(services, client):
    acme, nordic = await two_shops(services)

    _, acme_html = await get(client, acme.host, "/")
    _, nordic_html = await get(client, nordic.host, "/")
    acme_page, nordic_page = parse_html(acme_html), parse_html(nordic_html)

    assert texts(acme_page, ".//section[@class='hero']/h1") == ["Acme Store"]
    assert texts(acme_page, ".//ul[@class='grid']/li//h3") == ["Acme Linen Shirt", "Acme Mug"]
    assert texts(acme_page, ".//ul[@class='grid']/li//span[@class='price']") == ["From $1,234.50", "$8.00"]
    assert texts(nordic_page, ".//ul[@class='grid']/li//span[@class='price']") == ["ab 99,90 €", "8,00 €"]
    assert [a.get("href") for a in acme_page.findall(".//nav[@aria-label='Main']//a")] == ["/", "/collections/all", "/cart"]
    assert acme_page.find(".//main[@id='main']") is not None
    assert acme_page.find(".//header") is not None and acme_page.find(".//footer") is not None


async def test_collection_page_lists_products_in_manual_order(services, client):
    acme, _ = await two_shops(services)

    response, html = await get(client, acme.host, "/collections/summer")
    page = parse_html(html)

    assert response.status_code == 200
    assert texts(page, ".//h1") == ["Summer"]
    assert texts(page, ".//ul[@class='grid']/li//h3") == ["Acme Linen Shirt", "Acme Mug"]
    assert [o.get("value") for o in page.findall(".//select[@id='sort']/option")] == [
        "manual", "price-asc", "price-desc", "title-asc", "title-desc", "newest"
    ]
    assert page.find(".//label[@for='price_min']") is not None
    assert response.headers["Cache-Tag"] == f"t{acme.tenant.id},t{acme.tenant.id}-p{acme.shirt.id},t{acme.tenant.id}-p{acme.mug.id},t{acme.tenant.id}-c{acme.collection.id}"


async def test_collection_sort_and_filters(services, client):
    acme, _ = await two_shops(services)

    _, by_price = await get(client, acme.host, "/collections/summer?sort=price-asc")
    _, cheap = await get(client, acme.host, "/collections/summer?price_max=10")
    _, in_range = await get(client, acme.host, "/collections/summer?price_min=100&price_max=2000")
    _, available = await get(client, acme.host, "/collections/all?available=1&sort=title-desc")

    assert texts(parse_html(by_price), ".//ul[@class='grid']/li//h3") == ["Acme Mug", "Acme Linen Shirt"]
    assert texts(parse_html(cheap), ".//ul[@class='grid']/li//h3") == ["Acme Mug"]
    assert texts(parse_html(in_range), ".//ul[@class='grid']/li//h3") == ["Acme Linen Shirt"]
    assert texts(parse_html(available), ".//ul[@class='grid']/li//h3") == ["Acme Mug", "Acme Linen Shirt"]


async def test_collection_pages_by_cursor_24_at_a_time(services, client):
    acme, _ = await two_shops(services)
    for number in range(30):
        await make_product(services, acme.tenant.id, title=f"Bulk {number:02d}", handle=f"bulk-{number:02d}",
                           variants=[NewVariant(price=Decimal(100 + number), inventory_quantity=1)], option_names=[])

    _, first_html = await get(client, acme.host, "/collections/all?sort=title-asc")
    first = parse_html(first_html)
    next_href = attribute(first, ".//a[@rel='next']", "href")
    _, second_html = await get(client, acme.host, next_href)
    second = parse_html(second_html)

    assert len(first.findall(".//ul[@class='grid']/li")) == 24
    assert next_href.startswith("/collections/all?cursor=") and next_href.endswith("&sort=title-asc")
    titles = texts(second, ".//ul[@class='grid']/li//h3")
    assert titles == [f"Bulk {n:02d}" for n in range(22, 30)]  # 32 products: the shop's 2 sort first
    assert second.find(".//a[@rel='next']") is None
    assert attribute(second, ".//nav[@aria-label='Pagination']/a", "href") == "/collections/all?sort=title-asc"


async def test_bad_listing_input_is_a_400_page_saying_what_to_fix(services, client):
    acme, _ = await two_shops(services)

    cases = {
        "/collections/summer?sort=cheapest": "Unknown sort order 'cheapest'.",
        "/collections/summer?price_min=abc": "The minimum price must be a number, like 25 or 19.99.",
        "/collections/summer?price_min=5&price_max=1": "The minimum price is above the maximum price.",
        "/collections/summer?cursor=not*valid": "This page link is damaged.",
        "/collections/summer?cursor=bm9wZQ": "cursor is not one this listing handed out",
        "/collections/summer?available=maybe": "The 'in stock only' filter takes 1 or 0.",
        "/products/linen-shirt?variant=abc": "The variant in this address must be a number.",
    }
    for path, message in cases.items():
        response, html = await get(client, acme.host, path)

        assert response.status_code == 400, path
        assert response.headers["Cache-Control"] == "private, no-store"
        assert message in texts(parse_html(html), ".//main/p")[0], path


async def test_search_results_empty_and_no_result_states(services, client):
    acme, nordic = await two_shops(services)

    _, by_tag = await get(client, acme.host, "/search?q=linen")
    _, by_vendor = await get(client, acme.host, "/search?q=clayworks")
    _, empty = await get(client, acme.host, "/search")
    _, nothing = await get(client, acme.host, "/search?q=zebra")

    assert texts(parse_html(by_tag), ".//ul[@class='grid']/li//h3") == ["Acme Linen Shirt"]
    assert texts(parse_html(by_vendor), ".//ul[@class='grid']/li//h3") == ["Acme Mug"]
    assert texts(parse_html(empty), ".//p[@class='notice']") == ["Type a word to search this shop."]
    assert texts(parse_html(nothing), ".//p[@class='notice']") == ["No products match “zebra”. Try a shorter word, or browse everything."]
    assert attribute(parse_html(nothing), ".//meta[@name='robots']", "content") == "noindex"


async def test_sitemap_and_robots_use_the_database_host(services, client):
    acme, _ = await two_shops(services)

    response, sitemap = await get(client, acme.host, "/sitemap.xml", **{"X-Forwarded-Host": "evil.example"})
    _, robots = await get(client, acme.host, "/robots.txt")

    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    locs = [e.text for e in ElementTree.fromstring(sitemap).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert locs == [
        "https://acme.localhost:8443/",
        "https://acme.localhost:8443/collections/summer",
        "https://acme.localhost:8443/products/linen-shirt",
        "https://acme.localhost:8443/products/mug",
    ]
    assert robots == "User-agent: *\nDisallow: /cart\nDisallow: /search\n\nSitemap: https://acme.localhost:8443/sitemap.xml\n"


async def test_strict_routes_are_themed_404s(services, client):
    acme, _ = await two_shops(services)

    for path in ("/products/linen-shirt.css", "/products/linen-shirt;x", "/products/linen-shirt/extra", "/products/nope",
                 "/collections/summer.json", "/collections/nope", "/index.php"):
        response, html = await get(client, acme.host, path)
        page = parse_html(html)

        assert response.status_code == 404, path
        assert texts(page, ".//h1") == ["Page not found"], path
        assert texts(page, ".//a[@class='brand']") == ["Acme Store"], path
        assert page.find(".//script[@type='application/ld+json']") is None, path


async def test_api_paths_still_get_json_404s(services, client):
    await two_shops(services)

    response = await client.get("/api/v1/nothing-here", headers={"Host": "localhost"})

    assert response.status_code == 404
    assert (await response.get_json())["error"]["code"] == "not_found"


async def test_assets_are_served(client):
    response = await client.get("/assets/variant-picker.js", headers={"Host": "acme.localhost"})
    missing = await client.get("/assets/../settings.py", headers={"Host": "acme.localhost"})

    assert response.status_code == 200
    assert "data-variant-picker" in (await response.get_data(as_text=True))
    assert missing.status_code == 404

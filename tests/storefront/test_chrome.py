"""The page chrome rendered once per shop (storefront/chrome.py, issue 14 item 2): reused, never stale, never shared."""

from __future__ import annotations

from jinja2 import Environment

from origin.tenancy.actions import do_update_theme_settings
from origin.tenancy.themes import do_put_theme_template
from storefront.chrome import SiteChromeExtension
from tests.storefront.conftest import attribute, get, parse_html
from tests.storefront.shops import two_shops
from tests.storefront.test_theme import _settle


class Shop:
    def __init__(self, name: str) -> None:
        self.name = name

    def gettext(self, message: str) -> str:
        return message


def test_a_chrome_block_renders_once_per_shop_and_what_is_outside_it_every_time():
    environment = Environment(extensions=[SiteChromeExtension], autoescape=True)
    renders: list[str] = []

    def chrome_of(shop: Shop | None) -> str:
        name = shop.name if shop is not None else "no shop"
        renders.append(name)
        return name

    environment.globals["chrome_of"] = chrome_of
    template = environment.from_string("{% sitechrome %}[{{ chrome_of(shop) }}]{% endsitechrome %}{{ query }}")
    acme, nordic = Shop("acme"), Shop("nordic")

    first = template.render(shop=acme, query="hat")
    second = template.render(shop=acme, query="<b>scarf</b>")
    other = template.render(shop=nordic, query="hat")
    unkeyed = [template.render(shop=None, query="") for _ in range(2)]

    assert (first, second, other) == ("[acme]hat", "[acme]&lt;b&gt;scarf&lt;/b&gt;", "[nordic]hat")
    assert unkeyed == ["[no shop]", "[no shop]"]
    assert renders == ["acme", "nordic", "no shop", "no shop"]  # acme's chrome once for two pages; no shop, no memo


def test_a_keyed_block_renders_once_per_shop_and_key_and_what_is_outside_it_every_time():
    environment = Environment(extensions=[SiteChromeExtension], autoescape=True)
    renders: list[tuple[str, object]] = []

    def form_of(shop: Shop, key: object) -> str:
        renders.append((shop.name, key))
        return f"{shop.name}/{'-'.join(map(str, key))}"

    environment.globals["form_of"] = form_of
    template = environment.from_string(
        "{% sitechrome sort, only %}<{{ form_of(shop, (sort, only)) }} value=\"{% endsitechrome %}{{ price }}"
        "{% sitechrome sort, only %}\">{% endsitechrome %}"
    )
    acme, nordic = Shop("acme"), Shop("nordic")

    pages = [
        template.render(shop=acme, sort="price", only=False, price="1"),
        template.render(shop=acme, sort="price", only=False, price="<2>"),
        template.render(shop=acme, sort="price", only=True, price="3"),
        template.render(shop=nordic, sort="price", only=False, price="4"),
        template.render(shop=acme, sort=["un", "hashable"], only=False, price="5"),
        template.render(shop=acme, sort=["un", "hashable"], only=False, price="6"),
    ]

    assert pages == [
        '<acme/price-False value="1">',
        '<acme/price-False value="&lt;2&gt;">',
        '<acme/price-True value="3">',
        '<nordic/price-False value="4">',
        '<acme/[&#39;un&#39;, &#39;hashable&#39;]-False value="5">',
        '<acme/[&#39;un&#39;, &#39;hashable&#39;]-False value="6">',
    ]
    # Once per (shop, key); the unhashable key every time.
    assert renders == [("acme", ("price", False)), ("acme", ("price", True)), ("nordic", ("price", False)),
                       ("acme", (["un", "hashable"], False)), ("acme", (["un", "hashable"], False))]


def test_keyed_blocks_are_bounded_least_recently_used_first(monkeypatch):
    from storefront import chrome

    monkeypatch.setattr(chrome, "MAX_KEYED_FRAGMENTS", 3)
    environment = Environment(extensions=[SiteChromeExtension], autoescape=True)
    renders: list[int] = []
    environment.globals["note"] = lambda key: renders.append(key) or key
    template = environment.from_string("{% sitechrome key %}{{ note(key) }}{% endsitechrome %}")
    shop = Shop("acme")

    for key in (1, 2, 3, 1, 4, 1, 2):
        template.render(shop=shop, key=key)

    assert renders == [1, 2, 3, 4, 2]  # 4 pushed out 2 (1 had just been used); 2 is rendered again


async def test_a_theme_change_reaches_the_chrome_of_the_next_page_and_only_that_shop(services, client):
    acme, nordic = await two_shops(services)
    _, before = await get(client, acme.host, "/")
    _, nordic_before = await get(client, nordic.host, "/")

    await do_update_theme_settings(services, acme.tenant.id, {"colors": {"primary": "#ffcc00"}, "logo_text": "Acme Two"})
    await _settle()
    _, home = await get(client, acme.host, "/")
    _, listing = await get(client, acme.host, "/collections/all?price_min=1")
    _, nordic_after = await get(client, nordic.host, "/collections/all?price_min=1")

    assert ":root{--primary:#ffcc00;" not in parse_html(before).find(".//style").text
    for html in (home, listing):
        page = parse_html(html)
        assert ":root{--primary:#ffcc00;" in page.find(".//style").text
        assert page.find(".//a[@class='brand']").text.strip() == "Acme Two"
    assert parse_html(nordic_after).find(".//style").text == parse_html(nordic_before).find(".//style").text


async def test_the_search_box_shows_each_requests_query(services, client):
    acme, _ = await two_shops(services)

    _, first = await get(client, acme.host, "/search?q=linen")
    _, second = await get(client, acme.host, "/search?q=shirt%22%3E")
    _, listing = await get(client, acme.host, "/collections/all")

    assert attribute(parse_html(first), ".//input[@id='site-search']", "value") == "linen"
    assert attribute(parse_html(second), ".//input[@id='site-search']", "value") == 'shirt">'
    assert attribute(parse_html(listing), ".//input[@id='site-search']", "value") == ""


async def test_a_merchants_override_inside_the_chrome_is_its_shops_alone(services, client):
    acme, nordic = await two_shops(services)
    await get(client, acme.host, "/")  # acme's default chrome memoized before the override exists

    await do_put_theme_template(services, acme.tenant.id, "partials/styles.css", "body{outline:3px solid red}")
    await _settle()
    _, acme_html = await get(client, acme.host, "/collections/all?price_min=2")
    _, nordic_html = await get(client, nordic.host, "/collections/all?price_min=2")

    assert "body{outline:3px solid red}" in parse_html(acme_html).find(".//style").text
    assert "body{outline:3px solid red}" not in parse_html(nordic_html).find(".//style").text

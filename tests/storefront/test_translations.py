"""The storefront in the shop's language: catalogs complete and compiled, pages translated, RTL, overrides."""

from __future__ import annotations

import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from origin.tenancy.actions import do_issue_api_token
from storefront import i18n
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import make_shop
from tests.storefront.test_theme_api import api, settle

REPOSITORY = i18n.LOCALES_DIR.parent.parent
TRANSLATED = [language for language in i18n.LANGUAGES if language != "en"]


def read_catalog(language: str):
    with (i18n.LOCALES_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def source_message_ids() -> set[str]:
    """What `make translations` would extract now, from the templates and the handlers."""
    method_map = [
        ("storefront/**.py", "python"),
        ("origin/web/storefront/**.py", "python"),
        ("storefront/themes/default/**.html", "jinja2"),
    ]
    options = {"storefront/themes/default/**.html": {
        "trim_blocks": "True", "lstrip_blocks": "True", "extensions": "storefront.chrome.SiteChromeExtension",  # as storefront/babel.cfg
    }}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "text": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(REPOSITORY), method_map, options, keywords=keywords):
        found.update(message if isinstance(message, tuple) else (message,))
    return found


def test_template_catalog_holds_every_string_the_sources_use():
    with i18n.TEMPLATE_CATALOG.open("rb") as handle:
        template = read_po(handle)
    in_template = set()
    for message in template:
        if message.id:
            in_template.update(message.id if isinstance(message.id, tuple) else (message.id,))

    assert in_template == source_message_ids(), "run `make translations`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_is_translated_with_the_same_placeholders(language):
    catalog = read_catalog(language)
    known = set(i18n.known_messages())

    ids = set()
    for message in catalog:
        if not message.id:
            continue
        ids.update(message.id if isinstance(message.id, tuple) else (message.id,))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: {message.id!r} is not translated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
        wanted = set(i18n.PLACEHOLDER.findall(message.id[-1] if isinstance(message.id, tuple) else message.id))
        for string in strings:
            assert set(i18n.PLACEHOLDER.findall(string)) <= wanted, f"{language}: {message.id!r} -> {string!r}"
    assert ids == known
    assert list(catalog.check()) == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_compiled_catalog_matches_its_po_file(language):
    catalog = read_catalog(language)
    with (i18n.LOCALES_DIR / language / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)

    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    expected = {plain(message.id): plain(message.string) for message in catalog if message.id}
    actual = {plain(message.id): plain(message.string) for message in compiled if message.id}
    assert actual == expected, "the .mo is stale: run `make translations`"


PRODUCT_WORDS = {
    "en-US": ("Add to cart", "In stock", "Size", "ltr"),
    "de-DE": ("In den Warenkorb", "Auf Lager", "Size", "ltr"),
    "fr-FR": ("Ajouter au panier", "En stock", "Size", "ltr"),
    "es-ES": ("Añadir al carrito", "En stock", "Size", "ltr"),
    "ja-JP": ("カートに入れる", "在庫あり", "Size", "ltr"),
    "ar-EG": ("أضف إلى السلة", "متوفر", "Size", "rtl"),
}


async def test_product_page_speaks_the_shop_language(services, client):
    shops = {locale: await make_shop(services, f"shop{index}", "EUR", shirt_price="20", locale=locale) for index, locale in enumerate(PRODUCT_WORDS)}

    pages = {}
    for locale, shop in shops.items():
        _, html = await get(client, shop.host, "/products/linen-shirt")
        pages[locale] = parse_html(html)

    for locale, (add_to_cart, in_stock, legend, direction) in PRODUCT_WORDS.items():
        page = pages[locale]
        assert attribute(page, ".", "lang") == locale
        assert attribute(page, ".", "dir") == direction
        assert texts(page, ".//button[@data-add-button]") == [add_to_cart], locale
        assert texts(page, ".//p[@data-availability]") == [in_stock], locale
        assert texts(page, ".//form[@data-variant-picker]//legend") == [legend]
    assert texts(pages["ja-JP"], ".//nav[@aria-label='メイン']//a") == ["ホーム", "すべての商品", "カート"]
    assert texts(pages["ar-EG"], ".//footer//p")[0].endswith("الأسعار بعملة EUR.")


async def test_listing_words_and_sort_labels_follow_the_locale(services, client):
    shop = await make_shop(services, "kyoto", "JPY", shirt_price="1200", locale="ja-JP")

    _, html = await get(client, shop.host, "/collections/all")
    _, bad_html = await get(client, shop.host, "/collections/all?sort=cheapest")
    page, bad = parse_html(html), parse_html(bad_html)

    assert texts(page, ".//h1") == ["すべての商品"]
    assert texts(page, ".//select[@id='sort']/option") == ["価格の安い順", "価格の高い順", "名前順（A→Z）", "名前順（Z→A）", "新着順"]
    assert texts(page, ".//ul[@class='grid']/li//span[@class='price']") == ["￥8", "￥1,200〜"]
    assert attribute(page, ".//meta[@name='description']", "content") == "Kyoto Storeのすべての商品。"
    assert texts(bad, ".//h1") == ["アドレスをご確認ください"]
    assert texts(bad, ".//main/p")[0].startswith("不明な並べ替え'cheapest'です。")


async def test_the_font_stack_has_cjk_and_arabic_faces(services, client):
    shop = await make_shop(services, "acme", "USD", shirt_price="20", theme={"font": "Georgia, serif"})

    _, html = await get(client, shop.host, "/")

    style = parse_html(html).find(".//style").text
    assert "--font:Georgia, serif, \"Hiragino Sans\"" in style
    assert '"Noto Sans CJK JP"' in style and '"Noto Sans Arabic"' in style


async def test_merchant_overrides_a_string_for_its_shop_only(services, client):
    acme = await make_shop(services, "acme", "USD", shirt_price="20")
    nordic = await make_shop(services, "nordic", "EUR", shirt_price="20")
    token = (await do_issue_api_token(services, acme.tenant.id)).token
    await get(client, acme.host, "/products/linen-shirt")  # the site record is cached first

    response, body = await api(
        client, "PUT", "/api/v1/theme/strings", token,
        {"strings": {"Add to cart": "Buy <now> & 20% off", "From %(price)s": "Starting at %(price)s"}},
    )
    await settle()
    _, acme_html = await get(client, acme.host, "/products/linen-shirt")
    _, acme_home = await get(client, acme.host, "/")
    _, nordic_html = await get(client, nordic.host, "/products/linen-shirt")
    listed, listing = await api(client, "GET", "/api/v1/theme/strings", token)

    assert response.status_code == 200
    assert texts(parse_html(acme_html), ".//button[@data-add-button]") == ["Buy <now> & 20% off"]
    assert "Buy &lt;now&gt; &amp; 20% off" in acme_html
    assert texts(parse_html(acme_home), ".//ul[@class='grid']/li//span[@class='price']")[0] == "Starting at $20.00"
    assert texts(parse_html(nordic_html), ".//button[@data-add-button]") == ["In den Warenkorb"]
    assert listed.status_code == 200
    entry = next(item for item in listing["items"] if item["id"] == "Add to cart")
    assert entry == {"id": "Add to cart", "default": "Add to cart", "override": "Buy <now> & 20% off"}
    assert next(item for item in listing["items"] if item["id"] == "Sold out")["override"] is None


async def test_bad_overrides_are_422_and_change_nothing(services, client):
    acme = await make_shop(services, "acme", "USD", shirt_price="20")
    token = (await do_issue_api_token(services, acme.tenant.id)).token

    unknown, unknown_body = await api(client, "PUT", "/api/v1/theme/strings", token, {"strings": {"Buy it": "x"}})
    placeholder, placeholder_body = await api(
        client, "PUT", "/api/v1/theme/strings", token, {"strings": {"From %(price)s": "From %(amount)s"}}
    )
    control, _ = await api(client, "PUT", "/api/v1/theme/strings", token, {"strings": {"Sold out": "Gone\x00"}})
    wrong_shape, _ = await api(client, "PUT", "/api/v1/theme/strings", token, {"strings": ["Sold out"]})
    anonymous, _ = await api(client, "PUT", "/api/v1/theme/strings", None, {"strings": {}})
    _, html = await get(client, acme.host, "/products/linen-shirt")

    assert unknown.status_code == 422
    assert unknown_body["error"]["fields"][0]["path"] == "strings.Buy it"
    assert placeholder.status_code == 422
    assert placeholder_body["error"]["fields"][0]["message"] == "unknown placeholder %(amount)s; this string has %(price)s"
    assert control.status_code == 422
    assert wrong_shape.status_code == 422
    assert anonymous.status_code == 401
    assert texts(parse_html(html), ".//button[@data-add-button]") == ["Add to cart"]


def test_catalog_lookup_falls_back_to_the_language_then_english():
    assert i18n.translate("de-AT", {}, "Sold out") == "Ausverkauft"
    assert i18n.translate("pt-BR", {}, "Sold out") == "Sold out"
    assert i18n.translate("not a locale", {}, "Sold out") == "Sold out"
    assert i18n.translate_plural("ja-JP", {}, "Subtotal (%(num)s item):", "Subtotal (%(num)s items):", 3) == "小計（%(num)s点）："
    assert i18n.text_direction("ar-EG") == "rtl" and i18n.text_direction("he-IL") == "rtl"
    assert i18n.text_direction("ja-JP") == "ltr"
    assert i18n.clean_override("Sold out", "100% gone") == ("Sold out", "100%% gone")

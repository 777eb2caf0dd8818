"""Rotating ZELLY_SECRET_KEY (issue 11, item 4): what was signed or sealed before stays valid for the overlap.

Each phase swaps in the keyring a restarted process would build from its
Settings (origin.services.make_keyring): new secret + previous during the
overlap, new secret alone after it.
"""

from __future__ import annotations

import pytest

from origin.analytics.errors import AnalyticsError
from origin.analytics.links import sign_link_token, verify_link_token
from origin.keyring import key_id
from origin.services import make_keyring
from origin.settings import Secret
from origin.shopify.connections import do_reseal_connection, get_connection
from origin.shopify.errors import ShopifyError
from tests.conftest import swap_in_place
from tests.storefront.conftest import attribute, get, parse_html, texts
from tests.storefront.shops import two_shops
from tests.shopify_harness import connect_through_fake

OLD, NEW = "old-secret-" + "o" * 40, "new-secret-" + "n" * 40


def rotate_to(services, current: str, previous: str = "") -> None:
    settings = services.settings.replace(secret_key=Secret(current), secret_key_previous=Secret(previous))
    swap_in_place(services, settings=settings, keyring=make_keyring(settings))


async def cart_rows(client, host: str) -> tuple[list[str], str]:
    _, html = await get(client, host, "/cart")
    page = parse_html(html)
    token = attribute(page, ".//input[@name='csrf_token']", "value") if texts(page, ".//table[@class='cart']/tbody/tr/td[1]/a") else ""
    return texts(page, ".//table[@class='cart']/tbody/tr/td[1]/a"), token


async def test_carts_links_and_shopify_credentials_survive_the_overlap_then_only_resealed_ones(services, client):
    rotate_to(services, OLD)
    acme, nordic = await two_shops(services)
    added = await client.post("/cart/add", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "1"}, headers={"Host": acme.host})
    old_cookie = added.headers["Set-Cookie"].split(";")[0]
    _, old_csrf = await cart_rows(client, acme.host)
    old_link, _ = sign_link_token(services.keyring, acme.tenant.id)
    await connect_through_fake(services, acme.tenant.id, shop_domain="acme.myshopify.com", access_token="shpat_" + "a" * 32, webhook_secret="whsec-acme-1")
    await connect_through_fake(services, nordic.tenant.id, shop_domain="nordic.myshopify.com", access_token="shpat_" + "b" * 32, webhook_secret="whsec-nordic")

    rotate_to(services, NEW, previous=OLD)
    during_rows, _ = await cart_rows(client, acme.host)
    updated = await client.post(
        "/cart/update", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "2", "csrf_token": old_csrf}, headers={"Host": acme.host}
    )
    during_summary = texts(parse_html((await get(client, acme.host, "/cart"))[1]), ".//p[@class='summary']")
    new_link, _ = sign_link_token(services.keyring, acme.tenant.id)
    fresh = client.app.test_client()
    new_added = await fresh.post("/cart/add", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "1"}, headers={"Host": acme.host})
    new_cookie = new_added.headers["Set-Cookie"].split(";")[0]
    _, new_csrf = await cart_rows(fresh, acme.host)
    acme_during = await get_connection(services, acme.tenant.id)
    await do_reseal_connection(services, acme.tenant.id)  # nordic is left sealed under the old key

    assert during_rows == ["Acme Mug"] and updated.status_code == 303
    assert during_summary == ["Subtotal (2 items): $16.00"]  # the same cart as before the rotation
    assert verify_link_token(services.keyring, old_link) == acme.tenant.id == verify_link_token(services.keyring, new_link)
    assert acme_during.access_token == "shpat_" + "a" * 32
    assert (await get_connection(services, nordic.tenant.id)).webhook_secret == "whsec-nordic"
    assert old_link.split(".")[2] == key_id(OLD) and new_link.split(".")[2] == key_id(NEW)
    assert old_cookie.split("=", 1)[1].split(".")[1] == key_id(OLD) and new_cookie.split("=", 1)[1].split(".")[1] == key_id(NEW)
    assert old_csrf.split(".")[0] == key_id(OLD) and new_csrf.split(".")[0] == key_id(NEW)

    rotate_to(services, NEW)
    old_client = client.app.test_client()
    _, old_cart_html = await get(old_client, acme.host, "/cart", Cookie=old_cookie)
    _, new_cart_html = await get(client.app.test_client(), acme.host, "/cart", Cookie=new_cookie)
    stale_form = await client.post(
        "/cart/update", form={"variant_id": str(acme.mug.variants[0].id), "quantity": "3", "csrf_token": old_csrf}, headers={"Host": acme.host}
    )

    assert texts(parse_html(old_cart_html), ".//p[@class='notice']") == ["Your cart is empty. Continue shopping."]
    assert texts(parse_html(new_cart_html), ".//table[@class='cart']/tbody/tr/td[1]/a") == ["Acme Mug"]
    assert stale_form.status_code == 403
    with pytest.raises(AnalyticsError):
        verify_link_token(services.keyring, old_link)
    assert verify_link_token(services.keyring, new_link) == acme.tenant.id
    assert (await get_connection(services, acme.tenant.id)).access_token == "shpat_" + "a" * 32  # resealed: opens under the new secret alone
    with pytest.raises(ShopifyError):
        await get_connection(services, nordic.tenant.id)

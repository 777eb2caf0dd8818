"""Carts are checkout rows: they survive the cache, stay per tenant, and freeze once ordered (both backends)."""

from __future__ import annotations

import pytest

from origin.cart.carts import Cart
from origin.cart.signing import new_cart_id
from origin.checkout.carts import is_completed, load_cart, save_cart
from origin.checkout.errors import CheckoutError
from origin.checkout.placement import do_place_order
from tests.checkout.builders import make_checkout, make_shipping_rate, new_key
from tests.factories import make_product, make_tenant


async def test_a_cart_survives_a_flushed_cache(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id)
    token = new_cart_id()
    await save_cart(services, tenant.id, token, Cart(lines=((product.variants[0].id, 2),), notice="Added."))

    if services.redis is not None:
        await services.redis.flushdb()
    loaded = await load_cart(services, tenant.id, token)

    assert (loaded.lines, loaded.notice) == (((product.variants[0].id, 2),), "Added.")


async def test_another_tenant_sees_an_empty_cart_for_the_same_id(services) -> None:
    tenant = await make_tenant(services)
    other = await make_tenant(services)
    product = await make_product(services, tenant.id)
    token = new_cart_id()
    await save_cart(services, tenant.id, token, Cart(lines=((product.variants[0].id, 1),)))

    assert await load_cart(services, other.id, token) == Cart()


async def test_an_ordered_cart_loads_empty_and_refuses_changes(services) -> None:
    tenant = await make_tenant(services)
    product = await make_product(services, tenant.id)
    rate = await make_shipping_rate(services, tenant.id)
    token = await make_checkout(services, tenant.id, [(product.variants[0].id, 1)], rate_id=rate["id"])
    await do_place_order(services, tenant.id, token, new_key(), "manual")

    with pytest.raises(CheckoutError) as refused:
        await save_cart(services, tenant.id, token, Cart(lines=((product.variants[0].id, 3),)))

    assert await load_cart(services, tenant.id, token) == Cart()
    assert await is_completed(services, tenant.id, token) is True
    assert refused.value.code == "completed"

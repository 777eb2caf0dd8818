"""A property-based fuzzer over what the public and the merchants can send (issue 13).

Hypothesis generates requests for the storefront routes (paths, query strings),
the beacon (``POST /events``: JSON of any shape, and bytes that are not JSON),
the cart forms and the seller API's writes (products and collections: valid
bodies with fields replaced by anything JSON can hold). Each request goes to the
real app on the real stores (both backends). The properties: no answer is a
5xx, and a write that was refused (any 4xx) changed nothing: the store's rows
(catalog, carts) are exactly what they were before it. Bounded by
``max_examples`` per test and derandomized, so a run takes well under a minute
per backend and repeats exactly; tests/api/test_fuzzing.py covers every API
operation from the OpenAPI document with schemathesis.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from origin.catalog.tables import collection_products, collections, product_images, products, variants
from origin.checkout.tables import checkout_lines, checkouts
from tests.api.conftest import make_store
from tests.storefront.shops import two_shops

FUZZ = hypothesis_settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

# Text an attacker picks: any Unicode, plus the shapes that broke parsers before (issue 13).
NASTY = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "٣", "-1", "0", "1e999", "NaN", "9" * 40, str(2**63), "\r\nX: y", "%00", "../..", "[" * 50, "xn--aaa", ""]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False), NASTY),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=12,
)


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


STOREFRONT_PATHS = ["/", "/products/linen-shirt", "/products/mug", "/collections/summer", "/collections/all", "/search", "/cart", "/sitemap.xml"]
QUERY_NAMES = ["variant", "cursor", "sort", "q", "page", "min_price", "max_price", "option1", "in_stock", "tag", "vendor"]


async def snapshot(services, tenant_id: int) -> str:
    """Every row the store owns in the tables these writes touch, as one digest."""
    digest = hashlib.sha256()
    async with services.db.connect() as conn:
        for table in (products, variants, product_images, collections, collection_products, checkouts, checkout_lines):
            rows = await conn.execute(sa.select(table).where(table.c.tenant_id == tenant_id).order_by(*table.primary_key.columns))
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            digest.update(b"|")
    return digest.hexdigest()


@pytest.fixture
async def shops(services):
    return await two_shops(services)


@FUZZ
@given(path=st.sampled_from(STOREFRONT_PATHS), query=st.lists(st.tuples(st.sampled_from(QUERY_NAMES), NASTY), max_size=4),
       cursor=st.one_of(st.none(), JSON_VALUES.map(cursor_of)))
async def test_storefront_routes_never_answer_5xx(client, shops, path, query, cursor):
    acme, _ = shops
    pairs = [*query, *([("cursor", cursor)] if cursor is not None else [])]
    target = path + ("?" + "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs) if pairs else "")

    response = await client.get(target, headers={"Host": acme.host})

    assert response.status_code < 500, (target, response.status_code)


@FUZZ
@given(body=st.one_of(JSON_VALUES.map(lambda value: json.dumps(value).encode()), st.binary(max_size=200)),
       wrap=st.booleans())
async def test_beacon_never_answers_5xx(client, shops, body, wrap):
    acme, _ = shops
    if wrap:  # an event-shaped object around the generated value, to get past the first checks
        body = b'{"type": "product_view", "url": "http://acme.localhost/", "props": {"product_id": ' + (body if body[:1] else b"1") + b"}}"

    response = await client.post("/events", data=body, headers={"Host": acme.host, "Content-Type": "application/json"})

    assert response.status_code < 500, (body[:200], response.status_code)


@FUZZ
@given(action=st.sampled_from(["/cart/add", "/cart/update", "/cart/remove"]),
       form=st.dictionaries(st.sampled_from(["variant_id", "quantity", "csrf", "line", "x"]), NASTY, max_size=3))
async def test_cart_forms_never_answer_5xx_nor_write_on_refusal(services, client, shops, action, form):
    acme, _ = shops
    before = await snapshot(services, acme.tenant.id)

    response = await client.post(action, form=form, headers={"Host": acme.host, "Origin": f"http://{acme.host}"})
    after = await snapshot(services, acme.tenant.id)

    assert response.status_code < 500, (action, form, response.status_code)
    if response.status_code >= 400:
        assert after == before, (action, form)


VALID_PRODUCT = {"title": "Fuzz shirt", "handle": "fuzz-shirt", "variants": [{"price": "10.00", "sku": "F-1"}]}


def product_bodies():
    mutated = st.builds(
        lambda field, value: {**VALID_PRODUCT, field: value},
        st.sampled_from(["title", "handle", "description_html", "variants", "tags", "images", "option_names", "status", "vendor"]),
        JSON_VALUES,
    )
    mutated_variant = st.builds(
        lambda field, value: {**VALID_PRODUCT, "variants": [{**VALID_PRODUCT["variants"][0], field: value}]},
        st.sampled_from(["price", "compare_at_price", "sku", "inventory_quantity", "options", "barcode"]),
        JSON_VALUES,
    )
    return st.one_of(mutated, mutated_variant, JSON_VALUES)


@pytest.fixture
async def api_store(services):
    return await make_store(services)


@FUZZ
@given(body=product_bodies(), method=st.sampled_from(["POST", "PATCH"]))
async def test_seller_api_writes_never_answer_5xx_nor_write_partly(services, client, api_store, body, method):
    before = await snapshot(services, api_store.tenant.id)
    path = "/api/v1/products" if method == "POST" else "/api/v1/products/1"

    response = await client.open(path, method=method, json=body, headers={"Host": "localhost", **api_store.auth})
    after = await snapshot(services, api_store.tenant.id)

    assert response.status_code < 500, (method, body, response.status_code, await response.get_data(as_text=True))
    if response.status_code >= 400:
        assert after == before, (method, body)

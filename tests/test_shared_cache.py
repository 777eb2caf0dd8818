"""The shared cache (origin/cache.py): codecs on both backends, and never a pickle."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import pickle
from decimal import Decimal

import pytest

from edge import cache_keys
from origin.analytics.intake import SESSION_CODEC
from origin.analytics.privacy import SALT_CODEC
from origin.cache import INT, NAMESPACE, TEXT, RedisCache
from origin.catalog.models import Collection, Page, Product, ProductImage, ProductSummary, SitemapEntry, Variant
from origin.services import Services
from origin.tenancy.models import Tenant
from origin.tenancy.resolution import SITE_CODEC, StampedSite, TenantSite
from origin.web.storefront.page_cache import PAGE_CODEC, READ_CODECS, make_page

AT = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.timezone.utc)
UNPICKLED: list[str] = []


def _record_unpickling(marker: str) -> list[str]:
    UNPICKLED.append(marker)
    return UNPICKLED


class Booby:
    """Unpickling this appends to UNPICKLED: the tests assert it never happens."""

    def __reduce__(self):
        return (_record_unpickling, ("unpickled",))


async def write_raw(services: Services, key: str, data: bytes) -> None:
    """What another process (or an older Zelly) could have left under ``key``."""
    if isinstance(services.cache, RedisCache):
        await services.cache.client.set(NAMESPACE + key, data)
    else:
        services.cache._entries[NAMESPACE + key] = (math.inf, data)


IMAGE = ProductImage(id=3, product_id=2, url="https://cdn.example/a.jpg", alt="A", width=800, height=None, position=0)
SUMMARY = ProductSummary(
    id=2, handle="mug", title="Mug", vendor="Acme", status="active", price_min=Decimal("1234.5000"),
    price_max=Decimal("1300.0000"), compare_at_price=None, is_available=True, image=IMAGE, created_at=AT, updated_at=AT,
)
PRODUCT = Product(
    id=2, tenant_id=1, handle="mug", title="Mug", description_html="<p>Hot</p>", vendor="Acme", product_type="",
    tags=("kitchen", "gift"), status="active", option_names=("Size",), price_min=Decimal("10.00"), price_max=Decimal("12.50"),
    compare_at_price_min=Decimal("15.00"), is_available=False, created_at=AT, updated_at=AT,
    variants=(Variant(id=5, product_id=2, title="L", sku=None, options=("L",), price=Decimal("12.50"), compare_at_price=None,
                      inventory_quantity=0, inventory_policy="deny", position=1),),
    images=(IMAGE,), shopify_gid="gid://shopify/Product/9007199254740993",
)
COLLECTION = Collection(id=4, tenant_id=1, handle="summer", title="Summer", description_html="", image_url=None, created_at=AT, updated_at=AT)
SITE = TenantSite(
    tenant=Tenant(id=1, slug="acme", name="Acme", currency="EUR", locale="de-DE", status="suspended", contact_email="a@b.test",
                  theme_settings={"colors": {"primary": "#112233"}, "hero_title": "Hi"}, created_at=AT, updated_at=AT),
    canonical_host="www.acme.example", base_url="https://www.acme.example", template_overrides={"base.html": "{{ x }}"},
)

# (codec, a value, how to compare): one row per kind of value Zelly stores in the shared cache.
CASES = {
    "page": (PAGE_CODEC, make_page("<h1>Ünïcode\n</h1>", ["t1", "t1-p2"], status=404), None),
    "read:collections": (READ_CODECS["collections"], ([COLLECTION],), None),
    "read:collection": (READ_CODECS["collection"], (COLLECTION,), None),
    "read:collection-missing": (READ_CODECS["collection"], (None,), None),
    "read:product": (READ_CODECS["product"], (PRODUCT,), None),
    "read:products": (READ_CODECS["products"], (Page(items=(SUMMARY, SUMMARY), next_cursor="abc"),), None),
    "read:search": (READ_CODECS["search"], (Page(items=(), next_cursor=None),), None),
    "read:collection-products": (READ_CODECS["collection-products"], (Page(items=(SUMMARY,), next_cursor=None),), None),
    "read:sitemap": (READ_CODECS["sitemap"], ([SitemapEntry(path="/products/mug", updated_at=AT)],), None),
    "site": (SITE_CODEC, StampedSite(SITE, 41), dataclasses.asdict),  # TenantSite compares by identity
    "host": (INT, 0, None),
    "session": (SESSION_CODEC, {"session_id": 2**62, "referrer_host": "a.test", "utm_source": "", "utm_medium": "x", "utm_campaign": ""}, None),
    "salt": (SALT_CODEC, "ab" * 32, None),
    "text": (TEXT, "10.00", None),
}


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_every_stored_kind_round_trips_exactly(services, kind):
    codec, value, view = CASES[kind]
    key = f"t1:test:{kind}"

    await services.cache.set(key, value, codec, ttl=60)
    read = await services.cache.get(key, codec)

    view = view or (lambda v: v)
    assert view(read) == view(value)
    if kind == "read:product":
        assert read[0].variants[0].price == Decimal("12.50") and str(read[0].price_min) == "10.00"
        assert read[0].created_at == AT and read[0].created_at.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_a_pickle_left_in_the_cache_is_a_miss_and_never_unpickled(services, kind):
    codec, value, _ = CASES[kind]
    key = f"t1:test:{kind}"
    await write_raw(services, key, pickle.dumps(Booby()))
    await write_raw(services, key + ":plain", pickle.dumps(value))

    poisoned = await services.cache.get(key, codec)
    plain = await services.cache.get(key + ":plain", codec)

    assert (poisoned, plain) == (None, None)
    assert UNPICKLED == []


@pytest.mark.parametrize("data", [b"", b"{", b'{"status": 200}\n<p>', b"\xff\xfe", b'[{"id": "x"}]', b"12a"])
async def test_bytes_that_do_not_decode_are_misses(services, data):
    await write_raw(services, "t1:bad", data)

    values = [await services.cache.get("t1:bad", codec) for codec, _, _ in CASES.values()]

    assert all(value is None for value in values[:-1])  # TEXT decodes any UTF-8: it is the last case
    assert list(CASES)[-1] == "text"


async def test_add_is_set_if_absent_and_expire_slides(services):
    first = await services.cache.add("t1:once", "a", TEXT, ttl=60)
    second = await services.cache.add("t1:once", "b", TEXT, ttl=60)
    await services.cache.expire("t1:once", 0.5)
    kept = await services.cache.get("t1:once", TEXT)

    assert (first, second, kept) == (True, False, "a")


async def test_get_or_add_reads_and_slides_or_stores(services):
    await services.cache.set("t1:slide", "a", TEXT, ttl=5)
    await write_raw(services, "t1:garbage", b"\xff\xfe")
    read = await services.cache.get_or_add("t1:slide", "b", TEXT, ttl=3600)
    stored = await services.cache.get_or_add("t1:absent", "c", TEXT, ttl=3600)
    again = await services.cache.get_or_add("t1:absent", "d", TEXT, ttl=3600)
    replaced = await services.cache.get_or_add("t1:garbage", "e", TEXT, ttl=3600)

    assert (read, stored, again, replaced) == ("a", "c", "c", "e")
    assert await services.cache.get("t1:garbage", TEXT) == "e"
    if isinstance(services.cache, RedisCache):
        assert 3000 < await services.cache.client.ttl(NAMESPACE + "t1:slide") <= 3600


async def test_get_many_delete_and_incr(services):
    await services.cache.set("t1:a", 1, INT)
    await services.cache.set("t1:b", 2, INT)
    await write_raw(services, "t1:c", b"not a number")

    many = await services.cache.get_many(["t1:a", "t1:b", "t1:c", "t1:missing"], INT)
    await services.cache.delete("t1:a", "t1:missing")
    after = await services.cache.get_many(["t1:a", "t1:b"], INT)
    counted = [await services.cache.incr(cache_keys.catalog_version_key(9)) for _ in range(3)]

    assert many == [1, 2, None, None]
    assert after == [None, 2]
    assert counted == [1, 2, 3]
    assert await services.catalog_versions.read(9) == 3


async def test_values_are_stored_under_the_zelly_namespace(services):
    await services.cache.set(cache_keys.catalog_version_key(4), 7, INT)

    if isinstance(services.cache, RedisCache):
        raw = await services.cache.client.get("zelly:t4:catalog-version")
    else:
        raw = services.cache._entries["zelly:t4:catalog-version"][1]

    assert raw == b"7"


async def test_late_parts_are_attached_once_and_detached_with_none(services):
    from origin.analytics.queue import MemoryQueue

    first, second = MemoryQueue(), MemoryQueue()
    services.attach(events_queue=first)
    services.attach(events_queue=first)  # the same part again: a no-op
    with pytest.raises(RuntimeError, match="events_queue is already attached"):
        services.attach(events_queue=second)
    services.attach(events_queue=None)
    services.attach(events_queue=second)

    assert services.events_queue is second
    with pytest.raises(dataclasses.FrozenInstanceError):
        services.cache = None  # type: ignore[misc]


def test_the_edge_classifier_formats_keys_as_cache_keys_declares():
    # edge/keys.py inlines the two f-strings on the hit path; this keeps them equal to the one module's.
    from edge.config import EdgeConfig
    from edge.keys import classify, url_index_key

    scope = {"type": "http", "method": "GET", "path": "/products/mug", "query_string": b"variant=2",
             "headers": [(b"host", b"Shop.Example"), (b"accept-encoding", b"gzip")]}

    request = classify(scope, EdgeConfig())

    assert request.url_key == cache_keys.url_key("shop.example", "/products/mug", "variant=2") == url_index_key("shop.example", "/products/mug", "variant=2")
    assert request.key == cache_keys.edge_entry_key(request.url_key, request.encoding)


def test_no_process_code_imports_pickle_or_aiocache():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sources = [path for package in ("origin", "edge", "workers", "ops", "storefront", "tls") for path in (root / package).rglob("*.py")]

    offenders = [str(path.relative_to(root)) for path in sources
                 if any(word in path.read_text() for word in ("import pickle", "from pickle", "aiocache", "cloudpickle"))]

    assert len(sources) > 100
    assert offenders == []
    assert "aiocache" not in (root / "pyproject.toml").read_text()

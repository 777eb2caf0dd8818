"""RFC 9111 gaps closed in issue 12, item 6: unsafe-method invalidation, error freshness, revalidation with 304."""

from __future__ import annotations

import asyncio

from tests.edge.conftest import shop, stored


async def status_of(client, path: str, host: str = "shop-a.test") -> str:
    return (await client.get(path, headers=shop(host))).headers["cache-status"]


# -- 4.4: invalidation after an unsafe method -----------------------------------


async def test_a_successful_post_to_a_url_drops_the_stored_responses_for_that_url(edge) -> None:
    app, client, origin = edge
    await client.get("/products/hat", headers=shop())
    await client.get("/products/hat", headers=shop("shop-b.test"))
    await client.get("/products/scarf", headers=shop())

    posted = await client.post("/products/hat", headers=shop(), content=b"review=5")
    after = await client.get("/products/hat", headers=shop())

    assert posted.status_code == 200
    assert posted.headers["cache-status"] == "Zelly; fwd=bypass; detail=method"
    assert after.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert after.text == "GET shop-a.test/products/hat #3"
    assert (await status_of(client, "/products/hat", "shop-b.test")).startswith("Zelly; hit")  # other store untouched
    assert (await status_of(client, "/products/scarf")).startswith("Zelly; hit")  # other URL untouched


async def test_put_delete_and_patch_invalidate_too_with_the_query_normalized(edge) -> None:
    app, client, origin = edge
    for method in ("PUT", "DELETE", "PATCH"):
        await client.get("/search?sort=price&q=hat", headers=shop())
        assert (await status_of(client, "/search?q=hat&sort=price")).startswith("Zelly; hit")

        answer = await client.request(method, "/search?q=hat&sort=price&utm_source=x", headers=shop())

        assert answer.status_code == 200
        assert stored(app, "/search?q=hat&sort=price") is None, method
        assert (await status_of(client, "/search?q=hat&sort=price")).startswith("Zelly; fwd=uri-miss"), method


async def test_location_and_content_location_on_the_same_host_are_invalidated_and_other_hosts_are_not(edge) -> None:
    app, client, origin = edge
    origin.set("/cart/add", status=303, cache_control="no-store", headers=[
        ("location", "/cart"), ("content-location", "https://SHOP-A.test/products/scarf"), ("location", "https://shop-b.test/"),
    ])
    for host, path in (("shop-a.test", "/cart"), ("shop-a.test", "/products/scarf"), ("shop-b.test", "/"), ("shop-a.test", "/")):
        await client.get(path, headers=shop(host))

    posted = await client.post("/cart/add", headers=shop(), content=b"variant_id=1")

    assert posted.status_code == 303
    assert stored(app, "/cart") is None
    assert stored(app, "/products/scarf") is None
    assert stored(app, "/", "shop-b.test") is not None  # another origin's page: a response cannot invalidate it
    assert stored(app, "/") is not None


async def test_an_error_answer_to_an_unsafe_method_invalidates_nothing(edge) -> None:
    app, client, origin = edge
    await client.get("/products/hat", headers=shop())
    origin.set("/products/hat", status=422, cache_control="no-store")

    refused = await client.post("/products/hat", headers=shop(), content=b"x")

    assert refused.status_code == 422
    assert stored(app, "/products/hat") is not None


# -- 4.2: a stored error expires by its own freshness ----------------------------


async def test_a_404_with_max_age_1_is_kept_one_second_not_the_negative_cache_s_five(edge) -> None:
    app, client, origin = edge
    origin.set("/products/gone", status=404, cache_control="max-age=1")

    first = await client.get("/products/gone", headers=shop())
    cached = await client.get("/products/gone", headers=shop())
    await asyncio.sleep(1.1)
    expired = await client.get("/products/gone", headers=shop())

    assert first.status_code == 404 and first.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=404; stored; ttl=1"
    assert cached.headers["cache-status"].startswith("Zelly; hit")
    assert expired.headers["cache-status"].startswith("Zelly; fwd=")
    assert expired.text == "GET shop-a.test/products/gone #2"


async def test_a_410_s_expires_header_bounds_its_stay(edge) -> None:
    app, client, origin = edge
    origin.set("/products/old", status=410, cache_control=None, headers=[
        ("date", "Wed, 02 Dec 2026 10:00:00 GMT"), ("expires", "Wed, 02 Dec 2026 10:00:02 GMT")])
    origin.set("/products/never", status=404, cache_control=None, headers=[("expires", "0")])
    origin.set("/products/plain", status=404, cache_control=None)

    old = await client.get("/products/old", headers=shop())
    never = await client.get("/products/never", headers=shop())
    plain = await client.get("/products/plain", headers=shop())

    assert old.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=410; stored; ttl=2"
    assert never.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=404; detail=expired"  # Expires: 0 is already stale
    assert plain.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=404; stored; ttl=5"  # the negative cache's own bound


async def test_a_public_200_without_max_age_takes_its_freshness_from_expires(edge) -> None:
    app, client, origin = edge
    origin.set("/pages/about", cache_control="public", headers=[
        ("date", "Wed, 02 Dec 2026 10:00:00 GMT"), ("expires", "Wed, 02 Dec 2026 10:00:30 GMT")])

    first = await client.get("/pages/about", headers=shop())

    assert first.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=30"


# -- 4.3: revalidation of a stale entry with its validator ---------------------


def age_entry(app, path: str, seconds: float, host: str = "shop-a.test") -> None:
    """Move a stored entry ``seconds`` into the past, as if that much time had gone by."""
    entry = stored(app, path, host)
    assert entry is not None
    entry.stored_at -= seconds


async def test_a_stale_entry_with_an_etag_is_revalidated_and_a_304_refreshes_it_with_merged_headers(edge) -> None:
    app, client, origin = edge
    origin.set("/products/hat", cache_control="public, s-maxage=1", etag='"catalog-7"', headers=[("x-served-by", "first")])
    first = await client.get("/products/hat", headers=shop())
    age_entry(app, "/products/hat", 5)
    origin.set("/products/hat", cache_control="public, s-maxage=30", etag='"catalog-7"', headers=[("x-served-by", "second")])

    revalidated = await client.get("/products/hat", headers=shop())
    hit = await client.get("/products/hat", headers=shop())

    assert origin.seen_headers[-1]["if-none-match"] == '"catalog-7"'
    assert revalidated.status_code == 200
    assert revalidated.text == first.text == "GET shop-a.test/products/hat #1"  # the stored body, not refetched
    assert revalidated.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=304; stored; ttl=30"
    assert revalidated.headers["x-served-by"] == "second"  # the 304's headers replace the stored ones
    assert revalidated.headers["content-length"] == str(len(first.content))
    assert revalidated.headers["content-type"] == "text/plain"
    assert hit.headers["cache-status"].startswith("Zelly; hit; ttl=")
    assert origin.hits[("shop-a.test", "/products/hat")] == 2


async def test_a_stale_entry_with_only_last_modified_is_revalidated_with_if_modified_since(edge) -> None:
    app, client, origin = edge
    stamp = "Tue, 01 Dec 2026 08:00:00 GMT"
    origin.set("/pages/about", cache_control="public, s-maxage=1", last_modified=stamp)
    await client.get("/pages/about", headers=shop())
    age_entry(app, "/pages/about", 600)  # long past every stale window: only the validator is left

    revalidated = await client.get("/pages/about", headers=shop())

    assert origin.seen_headers[-1]["if-modified-since"] == stamp
    assert "if-none-match" not in origin.seen_headers[-1]
    assert revalidated.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=304; stored; ttl=1"
    assert revalidated.text == "GET shop-a.test/pages/about #1"


async def test_a_changed_page_is_fetched_whole_and_a_client_s_own_validator_is_not_sent_upstream(edge) -> None:
    app, client, origin = edge
    origin.set("/products/hat", cache_control="public, s-maxage=1", etag='"catalog-7"')
    await client.get("/products/hat", headers=shop())
    age_entry(app, "/products/hat", 5)
    origin.set("/products/hat", cache_control="public, s-maxage=1", etag='"catalog-8"')

    changed = await client.get("/products/hat", headers=shop(**{"if-none-match": '"catalog-8"'}))
    not_modified = await client.get("/products/hat", headers=shop(**{"if-none-match": '"catalog-8"'}))

    assert origin.seen_headers[-1]["if-none-match"] == '"catalog-7"'  # the edge's validator, not the client's
    assert changed.status_code == 304  # the client already has catalog-8; the edge stored it meanwhile
    assert stored(app, "/products/hat").body == b"GET shop-a.test/products/hat #2"
    assert not_modified.status_code == 304 and not_modified.headers["cache-status"].startswith("Zelly; hit")

"""The edge's HTTP caching semantics against an origin served on loopback (RFC 9111, 5861, 9211)."""

from __future__ import annotations

import asyncio

from tests.edge.conftest import shop, stored


async def test_a_public_page_is_fetched_once_then_served_from_the_cache_with_age_and_cache_status(edge) -> None:
    app, client, origin = edge

    first = await client.get("/products/hat", headers=shop())
    second = await client.get("/products/hat", headers=shop())

    assert first.status_code == 200 and second.status_code == 200
    assert first.text == second.text == "GET shop-a.test/products/hat #1"
    assert first.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert second.headers["cache-status"].startswith("Zelly; hit; ttl=")
    assert int(second.headers["age"]) in (0, 1)
    assert second.headers["cache-tag"] == "t1,t1-p1,hshop-a.test"
    assert origin.hits[("shop-a.test", "/products/hat")] == 1


async def test_two_tenants_with_the_same_path_never_collide(edge) -> None:
    app, client, origin = edge

    a = await client.get("/collections/all", headers=shop("shop-a.test"))
    b = await client.get("/collections/all", headers=shop("shop-b.test"))
    a_again = await client.get("/collections/all", headers=shop("shop-a.test"))
    b_again = await client.get("/collections/all", headers=shop("shop-b.test"))

    assert a.text == a_again.text == "GET shop-a.test/collections/all #1"
    assert b.text == b_again.text == "GET shop-b.test/collections/all #1"
    assert origin.total() == 2


async def test_host_spelling_is_normalized_into_one_key(edge) -> None:
    app, client, origin = edge

    await client.get("/", headers=shop("shop-a.test"))
    upper = await client.get("/", headers=shop("SHOP-A.Test:8080"))
    dotted = await client.get("/", headers=shop("shop-a.test."))

    assert upper.headers["cache-status"].startswith("Zelly; hit")
    assert dotted.headers["cache-status"].startswith("Zelly; hit")
    assert origin.total() == 1


async def test_x_forwarded_host_from_an_untrusted_client_cannot_poison_another_store(edge) -> None:
    app, client, origin = edge

    poisoned = await client.get("/", headers=shop("shop-a.test", **{"x-forwarded-host": "evil.test", "x-original-url": "/admin", "forwarded": "host=evil.test"}))
    clean = await client.get("/", headers=shop("shop-a.test"))

    assert poisoned.text == clean.text == "GET shop-a.test/ #1"
    assert clean.headers["cache-status"].startswith("Zelly; hit")
    seen = origin.seen_headers[0]
    assert "x-forwarded-host" not in seen and "x-original-url" not in seen and "forwarded" not in seen
    assert "x-forwarded-for" not in seen  # a shared page must not depend on who asked first


async def test_tracking_parameters_are_dropped_and_allowed_parameters_sorted(edge) -> None:
    app, client, origin = edge

    first = await client.get("/collections/all?sort=price&available=1&utm_source=mail&gclid=abc", headers=shop())
    second = await client.get("/collections/all?available=1&fbclid=x&sort=price", headers=shop())

    assert second.headers["cache-status"].startswith("Zelly; hit")
    assert origin.seen_targets == ["/collections/all?available=1&sort=price"]
    assert first.text == "GET shop-a.test/collections/all?available=1&sort=price #1"


async def test_a_query_parameter_on_a_path_no_route_declares_bypasses_the_cache(edge) -> None:
    app, client, origin = edge

    first = await client.get("/welcome?debug=1", headers=shop())
    second = await client.get("/welcome?debug=1", headers=shop())

    assert first.headers["cache-status"] == second.headers["cache-status"] == "Zelly; fwd=bypass; detail=query"
    assert origin.hits[("shop-a.test", "/welcome?debug=1")] == 2


async def test_parameters_a_route_does_not_read_are_dropped_from_the_key_and_from_the_request_upstream(edge) -> None:
    app, client, origin = edge

    home = await client.get("/?page=2", headers=shop())
    home_again = await client.get("/?page=9&x=1", headers=shop())
    search = await client.get("/search?q=hat&debug=1&page=3", headers=shop())
    product = await client.get("/products/hat?variant=7&sort=price", headers=shop())
    product_other_variant = await client.get("/products/hat?variant=8", headers=shop())

    assert home.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert home_again.headers["cache-status"].startswith("Zelly; hit")
    assert search.text == "GET shop-a.test/search?q=hat #1"
    assert product.text == "GET shop-a.test/products/hat?variant=7 #1"
    assert product_other_variant.headers["cache-status"].startswith("Zelly; fwd=uri-miss")
    assert origin.seen_targets == ["/", "/search?q=hat", "/products/hat?variant=7", "/products/hat?variant=8"]


async def test_accept_encoding_class_is_part_of_the_key_and_sent_upstream(edge) -> None:
    app, client, origin = edge

    await client.get("/", headers=shop(**{"accept-encoding": "gzip, deflate, br"}))
    await client.get("/", headers=shop(**{"accept-encoding": "br;q=1.0, gzip;q=0.5"}))
    gzip_only = await client.get("/", headers=shop(**{"accept-encoding": "gzip"}))
    plain = await client.get("/", headers=shop(**{"accept-encoding": "identity"}))

    assert gzip_only.headers["cache-status"].startswith("Zelly; fwd=uri-miss")
    assert plain.headers["cache-status"].startswith("Zelly; fwd=uri-miss")
    assert [h.get("accept-encoding") for h in origin.seen_headers] == ["br", "gzip", "identity"]
    # the client's, plus the request id the edge hands on (observability.requests)
    assert sorted(origin.seen_headers[2]) == ["accept", "accept-encoding", "host", "user-agent", "x-request-id"]


async def test_a_set_cookie_response_is_never_stored(edge) -> None:
    app, client, origin = edge
    origin.set("/welcome", headers=[("set-cookie", "zelly_session=abc; HttpOnly")])

    first = await client.get("/welcome", headers=shop())
    client.cookies.clear()  # the next visitor has no cookie
    second = await client.get("/welcome", headers=shop())

    assert first.headers["set-cookie"] == "zelly_session=abc; HttpOnly"
    assert second.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; detail=set-cookie"
    assert second.text == "GET shop-a.test/welcome #2"
    assert origin.hits[("shop-a.test", "/welcome")] == 2


async def test_private_no_store_no_cache_and_unmarked_responses_are_not_stored(edge) -> None:
    app, client, origin = edge
    cases = {"/private": "private, max-age=60", "/nostore": "no-store", "/nocache": "public, no-cache, s-maxage=60",
             "/plain": "max-age=60", "/none": None, "/cdn-private": "public, s-maxage=60"}
    for path, value in cases.items():
        origin.set(path, cache_control=value, headers=[("cdn-cache-control", "private")] if path == "/cdn-private" else [])

    details = {}
    for path in cases:
        await client.get(path, headers=shop())
        details[path] = (await client.get(path, headers=shop())).headers["cache-status"].split("detail=")[1]

    assert details == {"/private": "private", "/nostore": "no-store", "/nocache": "no-cache", "/plain": "not-public",
                       "/none": "not-public", "/cdn-private": "private"}
    assert origin.total() == 12


async def test_cdn_cache_control_opts_in_and_wins_over_cache_control(edge) -> None:
    app, client, origin = edge
    origin.set("/cdn", cache_control="max-age=0", headers=[("cdn-cache-control", "max-age=120")])

    await client.get("/cdn", headers=shop())
    second = await client.get("/cdn", headers=shop())

    assert second.headers["cache-status"].startswith("Zelly; hit; ttl=11")
    assert second.headers["cache-control"] == "max-age=0"  # the browser's directive passes through
    assert origin.total() == 1


async def test_partial_content_vary_star_and_vary_on_cookie_are_not_stored(edge) -> None:
    app, client, origin = edge
    origin.set("/partial", status=206)
    origin.set("/star", headers=[("vary", "*")])
    origin.set("/cookie", headers=[("vary", "Accept-Encoding, Cookie")])

    for path in ("/partial", "/star", "/cookie"):
        await client.get(path, headers=shop())
    statuses = [(await client.get(path, headers=shop())).headers["cache-status"] for path in ("/partial", "/star", "/cookie")]

    assert statuses == [
        "Zelly; fwd=uri-miss; fwd-status=206; detail=partial",
        "Zelly; fwd=uri-miss; fwd-status=200; detail=vary",
        "Zelly; fwd=uri-miss; fwd-status=200; detail=vary",
    ]


async def test_vary_on_an_allowed_header_keeps_one_variant_per_value(edge) -> None:
    app, client, origin = edge
    origin.set("/hello", headers=[("vary", "Accept-Language")])

    await client.get("/hello", headers=shop(**{"accept-language": "fr"}))
    french = await client.get("/hello", headers=shop(**{"accept-language": "fr"}))
    german = await client.get("/hello", headers=shop(**{"accept-language": "de"}))

    assert french.headers["cache-status"].startswith("Zelly; hit")
    assert german.headers["cache-status"].startswith("Zelly; fwd=vary-miss")
    assert origin.total() == 2


async def test_request_with_a_session_or_cart_cookie_or_authorization_bypasses(edge) -> None:
    app, client, origin = edge
    await client.get("/", headers=shop())

    session = await client.get("/", headers=shop(cookie="theme=dark; zelly_session=s1"))
    cart = await client.get("/", headers=shop(cookie="zelly_cart=c1"))
    auth = await client.get("/", headers=shop(authorization="Bearer x"))
    other_cookie = await client.get("/", headers=shop(cookie="theme=dark"))

    assert session.headers["cache-status"] == "Zelly; fwd=bypass; detail=cookie"
    assert session.text == "GET shop-a.test/ #2"
    assert cart.headers["cache-status"] == "Zelly; fwd=bypass; detail=cookie"
    assert auth.headers["cache-status"] == "Zelly; fwd=bypass; detail=authorization"
    assert other_cookie.headers["cache-status"].startswith("Zelly; hit")
    assert origin.seen_headers[1]["cookie"] == "theme=dark; zelly_session=s1"  # bypass forwards it
    assert "cookie" not in origin.seen_headers[0]


async def test_post_bypasses_and_streams_its_body(edge) -> None:
    app, client, origin = edge

    response = await client.post("/cart/add", headers=shop(), content=b"variant=1")

    assert response.status_code == 200
    assert response.headers["cache-status"] == "Zelly; fwd=bypass; detail=method"
    assert response.text == "POST shop-a.test/cart/add #1"


async def test_etag_if_none_match_gets_304_from_the_cache(edge) -> None:
    app, client, origin = edge
    first = await client.get("/p", headers=shop())

    revalidated = await client.get("/p", headers=shop(**{"if-none-match": f'W/{first.headers["etag"]}, "other"'}))
    mismatched = await client.get("/p", headers=shop(**{"if-none-match": '"v9"'}))

    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == '"v1"'
    assert "content-type" not in revalidated.headers
    assert mismatched.status_code == 200
    assert origin.total() == 1


async def test_head_is_served_from_the_get_entry_and_fills_it(edge) -> None:
    app, client, origin = edge

    head = await client.head("/p", headers=shop())
    get = await client.get("/p", headers=shop())
    head_again = await client.head("/p", headers=shop())

    assert head.content == b"" and head.headers["content-length"] == str(len(get.content))
    assert get.text == "GET shop-a.test/p #1"
    assert head_again.headers["cache-status"].startswith("Zelly; hit")
    assert origin.total() == 1


async def test_max_age_alone_is_used_only_with_public_and_s_maxage_wins(edge) -> None:
    app, client, origin = edge
    origin.set("/public", cache_control="public, max-age=30")
    origin.set("/shared", cache_control="public, max-age=5, s-maxage=300")

    await client.get("/public", headers=shop())
    await client.get("/shared", headers=shop())

    assert stored(app, "/public").ttl == 30
    assert stored(app, "/shared").ttl == 300


async def test_an_expired_entry_is_fetched_again(edge) -> None:
    app, client, origin = edge
    origin.set("/short", cache_control="public, s-maxage=1")
    await client.get("/short", headers=shop())
    stored(app, "/short").stored_at -= 2

    again = await client.get("/short", headers=shop())

    assert again.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=200; stored; ttl=1"
    assert again.text == "GET shop-a.test/short #2"


async def test_stale_while_revalidate_serves_stale_and_refreshes_exactly_once(edge) -> None:
    app, client, origin = edge
    origin.set("/swr", cache_control="public, s-maxage=1, stale-while-revalidate=30", delay=0.2)
    await client.get("/swr", headers=shop())
    stored(app, "/swr").stored_at -= 5

    stale = await asyncio.gather(*(client.get("/swr", headers=shop()) for _ in range(20)))
    await asyncio.sleep(0.5)
    fresh = await client.get("/swr", headers=shop())

    assert {r.text for r in stale} == {"GET shop-a.test/swr #1"}
    assert {r.headers["cache-status"] for r in stale} == {"Zelly; hit; ttl=-4; detail=stale-while-revalidate"}
    assert fresh.text == "GET shop-a.test/swr #2"
    assert fresh.headers["cache-status"].startswith("Zelly; hit; ttl=")
    assert origin.hits[("shop-a.test", "/swr")] == 2
    assert app.stats.tenant("1")["stale"] == 20


async def test_stale_if_error_serves_stale_on_a_500(edge) -> None:
    app, client, origin = edge
    origin.set("/sie", cache_control="public, s-maxage=1, stale-if-error=60")
    await client.get("/sie", headers=shop())
    stored(app, "/sie").stored_at -= 3
    origin.set("/sie", status=500, cache_control="no-store")

    response = await client.get("/sie", headers=shop())

    assert response.status_code == 200
    assert response.text == "GET shop-a.test/sie #1"
    assert response.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=500; detail=stale-if-error"
    assert int(response.headers["age"]) >= 3


async def test_stale_if_error_serves_stale_on_an_origin_timeout(origin) -> None:
    from edge.config import EdgeConfig
    from tests.edge.conftest import TOKEN, running_edge

    standin, url = origin
    async with running_edge(url, EdgeConfig(internal_token=TOKEN, upstream_timeout=0.3)) as (app, client):
        standin.set("/slow", cache_control="public, s-maxage=1, stale-if-error=60")
        await client.get("/slow", headers=shop())
        stored(app, "/slow").stored_at -= 3
        standin.set("/slow", cache_control="public, s-maxage=1, stale-if-error=60", delay=2.0)

        response = await client.get("/slow", headers=shop())
        standin.set("/products/slow", delay=2.0)
        uncached = await client.get("/products/slow", headers=shop())

    assert response.text == "GET shop-a.test/slow #1"
    assert response.headers["cache-status"] == "Zelly; fwd=stale; fwd-status=504; detail=stale-if-error"
    assert uncached.status_code == 504
    assert uncached.headers["cache-status"] == "Zelly; fwd=uri-miss; detail=upstream-timeout"


async def test_a_500_without_a_stale_entry_passes_through_and_is_not_stored(edge) -> None:
    app, client, origin = edge
    origin.set("/boom", status=500, cache_control=None)

    response = await client.get("/boom", headers=shop())

    assert response.status_code == 500
    assert response.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=500; detail=status"
    assert len(app.store) == 0


async def test_404_is_kept_briefly_as_a_negative_entry(edge) -> None:
    app, client, origin = edge
    origin.set("/gone", status=404, cache_control="public, s-maxage=3600")

    await client.get("/gone", headers=shop())
    second = await client.get("/gone", headers=shop())

    assert second.status_code == 404
    assert second.headers["cache-status"].startswith("Zelly; hit")
    assert stored(app, "/gone").ttl == 5
    assert origin.total() == 1


async def test_forwarding_headers_from_a_trusted_proxy_are_kept_and_name_the_host(origin) -> None:
    from edge.config import EdgeConfig
    from tests.edge.conftest import TOKEN, running_edge

    standin, url = origin
    async with running_edge(url, EdgeConfig(internal_token=TOKEN, trusted_proxies=("127.0.0.0/8",))) as (app, client):

        via_proxy = await client.get("/", headers=shop("edge.internal", **{"x-forwarded-host": "shop-b.test"}))
        direct = await client.get("/", headers=shop("shop-b.test"))
        rewritten = await client.get("/", headers=shop("shop-b.test", **{"x-original-url": "/admin"}))

    assert direct.headers["cache-status"].startswith("Zelly; hit")
    assert standin.seen_headers[0]["x-forwarded-host"] == "shop-b.test"
    assert via_proxy.text == direct.text
    assert rewritten.headers["cache-status"] == "Zelly; fwd=bypass; detail=override"


async def test_a_response_over_the_entry_limit_is_served_but_not_stored(origin) -> None:
    from edge.config import EdgeConfig
    from tests.edge.conftest import TOKEN, running_edge

    standin, url = origin
    standin.set("/big", body=b"x" * 2000)
    async with running_edge(url, EdgeConfig(internal_token=TOKEN, max_entry_bytes=1000)) as (app, client):

        response = await client.get("/big", headers=shop())

    assert len(response.content) == 2000
    assert response.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; detail=too-large"
    assert len(app.store) == 0

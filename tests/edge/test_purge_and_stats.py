"""Purge by tag, URL, host and tenant through the internal endpoint and through pub/sub; stats."""

from __future__ import annotations

import asyncio

from edge import tags
from edge.config import EdgeConfig
from origin.broadcast import MemoryBroadcast
from tests.edge.conftest import TOKEN, running_edge, running_edge_with_internal, shop

AUTH = {"authorization": f"Bearer {TOKEN}"}


async def fill(client, *requests: tuple[str, str]) -> None:
    for host, path in requests:
        await client.get(path, headers=shop(host))


async def status_of(client, host: str, path: str) -> str:
    return (await client.get(path, headers=shop(host))).headers["cache-status"]


async def test_a_tag_purge_hits_only_that_tenant(edge_internal) -> None:
    app, client, internal, origin = edge_internal
    await fill(client, ("shop-a.test", "/"), ("shop-b.test", "/"))

    response = await internal.post("/internal/edge/purge", headers=AUTH, json={"tags": ["t1-p1"]})

    assert response.status_code == 200
    assert response.json() == {"purged": 1, "by_tenant": {"1": 1}}
    assert (await status_of(client, "shop-a.test", "/")).startswith("Zelly; fwd=uri-miss")
    assert (await status_of(client, "shop-b.test", "/")).startswith("Zelly; hit")


async def test_purge_by_tenant_host_and_url(edge_internal) -> None:
    app, client, internal, origin = edge_internal
    await fill(client, ("shop-a.test", "/"), ("shop-a.test", "/search?q=hat"), ("shop-b.test", "/"), ("shop-b.test", "/about"))

    by_url = await internal.post("/internal/edge/purge", headers=AUTH, json={"urls": ["https://SHOP-A.test/search?utm_source=x&q=hat"]})
    by_host = await internal.post("/internal/edge/purge", headers=AUTH, json={"hosts": ["shop-b.test"]})
    by_tenant = await internal.post("/internal/edge/purge", headers=AUTH, json={"tenants": [1]})

    assert by_url.json() == {"purged": 1, "by_tenant": {"1": 1}}
    assert by_host.json() == {"purged": 2, "by_tenant": {"2": 2}}
    assert by_tenant.json() == {"purged": 1, "by_tenant": {"1": 1}}
    assert len(app.store) == 0


async def test_internal_endpoints_require_the_token(edge_internal) -> None:
    app, client, internal, origin = edge_internal

    missing = await internal.post("/internal/edge/purge", json={"tags": ["t1"]})
    wrong = await internal.get("/internal/edge/stats", headers={"authorization": "Bearer nope"})

    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"


async def test_without_a_token_only_a_direct_loopback_client_may_purge(origin) -> None:
    standin, url = origin
    async with running_edge_with_internal(url, EdgeConfig(internal_token="")) as (app, client, internal):

        direct = await internal.get("/internal/edge/stats")
        proxied = await internal.get("/internal/edge/stats", headers={"x-forwarded-for": "203.0.113.9"})

    assert direct.status_code == 200
    assert proxied.status_code == 401


async def test_bad_purge_requests_get_a_precise_4xx(edge_internal) -> None:
    app, client, internal, origin = edge_internal
    cases = [
        (b"not json", 422, "invalid_json", None),
        (b'{"tags": "t1"}', 422, "invalid_purge", "tags"),
        (b"{}", 422, "invalid_purge", None),
        (b'{"tenants": [0]}', 422, "invalid_purge", "tenants"),
        (b'{"tenants": [true]}', 422, "invalid_purge", "tenants"),
        (b'{"urls": ["not a url"]}', 422, "invalid_purge", "urls"),
        (b'{"hosts": ["bad host"]}', 422, "invalid_purge", "hosts"),
        (b'{"everything": true}', 422, "invalid_purge", "everything"),
        (b"[1]", 422, "invalid_purge", None),
        (b'{"tags": ["' + b"x" * 300_000 + b'"]}', 413, "too_large", None),
    ]

    results = []
    for body, *_ in cases:
        response = await internal.post("/internal/edge/purge", headers=AUTH, content=body)
        error = response.json()["error"]
        results.append((response.status_code, error["code"], error["field"]))

    assert results == [(status, code, field) for _, status, code, field in cases]
    assert (await internal.get("/internal/edge/purge", headers=AUTH)).status_code == 405
    assert (await internal.get("/internal/edge/nope", headers=AUTH)).status_code == 404


async def test_stats_count_hit_miss_stale_bypass_and_purge_per_tenant(edge_internal) -> None:
    app, client, internal, origin = edge_internal
    origin.set("/swr", cache_control="public, s-maxage=1, stale-while-revalidate=60")
    await fill(client, ("shop-a.test", "/"), ("shop-a.test", "/"), ("shop-a.test", "/"), ("shop-b.test", "/"), ("shop-a.test", "/swr"))
    app.store.get("GET|shop-a.test/swr?|gzip").stored_at -= 5
    await fill(client, ("shop-a.test", "/swr"))
    await client.get("/", headers=shop("shop-b.test", cookie="zelly_cart=1"))
    await internal.post("/internal/edge/purge", headers=AUTH, json={"tenants": [2]})

    stats = (await internal.get("/internal/edge/stats", headers=AUTH)).json()

    assert stats["tenants"] == {
        "1": {"hit": 2, "miss": 2, "stale": 1, "bypass": 0, "purge": 0},
        "2": {"hit": 0, "miss": 1, "stale": 0, "bypass": 1, "purge": 1},
    }
    assert stats["totals"] == {"hit": 2, "miss": 3, "stale": 1, "bypass": 1, "purge": 1}
    assert stats["store"]["entries"] == 2


async def test_purge_messages_on_the_channel_reach_the_edge(origin) -> None:
    standin, url = origin
    broadcast = MemoryBroadcast()
    async with running_edge(url, broadcast_subscribe=broadcast.subscribe) as (app, client):
        await asyncio.wait_for(app.subscribed.wait(), 5)
        await fill(client, ("shop-a.test", "/"), ("shop-a.test", "/about"), ("shop-b.test", "/"))

        await broadcast.publish(tags.PURGE_CHANNEL, tags.purge_message(tags=[tags.tenant_tag(1)]))
        await broadcast.publish(tags.PURGE_CHANNEL, "{not json")  # ignored, and the subscriber lives on
        await broadcast.publish(tags.PURGE_CHANNEL, tags.purge_message(hosts=["shop-b.test"]))
        for _ in range(100):
            if len(app.store) == 0:
                break
            await asyncio.sleep(0.01)

    assert len(app.store) == 0
    assert app.stats.tenant("1")["purge"] == 2
    assert app.stats.tenant("2")["purge"] == 1


async def test_a_page_fetched_across_a_purge_is_served_but_not_kept(edge_internal) -> None:
    app, client, internal, origin = edge_internal
    origin.set("/racing", delay=0.5)

    fetching = asyncio.create_task(client.get("/racing", headers=shop()))
    await asyncio.sleep(0.2)  # the fetch is on its way when the write's purge lands
    await internal.post("/internal/edge/purge", headers=AUTH, json={"tenants": [1]})
    response = await fetching
    after = await client.get("/racing", headers=shop())

    assert response.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; detail=purged-during-fetch"
    assert after.text == "GET shop-a.test/racing #2"


async def test_the_public_listener_answers_404_for_every_internal_path_even_with_the_token(edge_internal) -> None:
    app, client, internal, origin = edge_internal

    answers = [
        await client.post("/internal/edge/purge", headers=AUTH, json={"tenants": [1]}),
        await client.get("/internal/edge/stats", headers=AUTH),
        await client.get("/internal/anything", headers=AUTH),
    ]
    on_internal = await internal.get("/internal/edge/stats", headers=AUTH)
    elsewhere_on_internal = await internal.get("/products/hat", headers=shop())

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert origin.total() == 0  # refused at the edge, never forwarded
    assert on_internal.status_code == 200
    assert elsewhere_on_internal.status_code == 404  # the internal listener is no second way into the cache

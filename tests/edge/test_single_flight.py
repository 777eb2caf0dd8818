"""N concurrent misses for one key cause one origin request; waiters time out and fall through."""

from __future__ import annotations

import asyncio

import httpx

from edge.config import EdgeConfig
from tests.edge.conftest import TOKEN, running_edge, shop


async def test_a_stampede_of_concurrent_misses_sends_one_request_upstream(origin) -> None:
    standin, url = origin
    standin.set("/hot", delay=0.3)
    async with running_edge(url) as (app, client):
        async with httpx.AsyncClient(base_url=str(client.base_url), limits=httpx.Limits(max_connections=150), timeout=20) as many:

            responses = await asyncio.gather(*(many.get("/hot", headers=shop()) for _ in range(150)))

    assert [r.status_code for r in responses] == [200] * 150
    assert {r.text for r in responses} == {"GET shop-a.test/hot #1"}
    assert standin.hits[("shop-a.test", "/hot")] == 1
    assert sum("collapsed" in r.headers["cache-status"] for r in responses) >= 100
    assert app.stats.tenant("1")["miss"] == 1
    assert app.stats.tenant("1")["hit"] == 149


async def test_waiters_give_up_on_a_slow_leader_and_go_upstream_themselves(origin) -> None:
    standin, url = origin
    standin.set("/slow", delay=1.0)
    config = EdgeConfig(internal_token=TOKEN, single_flight_wait=0.1, upstream_timeout=5.0)
    async with running_edge(url, config) as (app, client):
        leader = asyncio.create_task(client.get("/slow", headers=shop()))
        await asyncio.sleep(0.2)  # the leader's fetch is on its way

        waiters = await asyncio.gather(*(client.get("/slow", headers=shop()) for _ in range(3)))
        first = await leader

    assert first.text == "GET shop-a.test/slow #1"
    assert sorted(r.text for r in waiters) == ["GET shop-a.test/slow #2", "GET shop-a.test/slow #3", "GET shop-a.test/slow #4"]
    assert standin.hits[("shop-a.test", "/slow")] == 4


async def test_waiters_never_share_a_response_that_may_not_be_stored(origin) -> None:
    standin, url = origin
    standin.set("/me", delay=0.3, headers=[("set-cookie", "zelly_session=new")])
    async with running_edge(url) as (app, client):
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10) as other:

            responses = await asyncio.gather(*(other.get("/me", headers=shop()) for _ in range(5)))

    assert sorted(r.text for r in responses) == [f"GET shop-a.test/me #{n}" for n in range(1, 6)]
    assert standin.hits[("shop-a.test", "/me")] == 5

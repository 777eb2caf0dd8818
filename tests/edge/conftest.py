"""Edge fixtures: a stand-in origin on loopback, and an edge in front of it, both served by hypercorn."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from edge.app import EdgeApp, create_edge_app
from edge.config import EdgeConfig
from tests.conftest import REDIS_URL, require_server
from tests.edge.servers import serve_on_loopback
from tests.edge.standin_origin import StandInOrigin

TOKEN = "edge-test-token"


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    """The real Redis, this run's own db index, flushed before and after."""
    require_server("Redis", "127.0.0.1", 6379)
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def origin() -> AsyncIterator[tuple[StandInOrigin, str]]:
    standin = StandInOrigin()
    async with serve_on_loopback(standin) as url:
        yield standin, url


@contextlib.asynccontextmanager
async def running_edge(upstream_url: str, config: EdgeConfig | None = None, **kwargs) -> AsyncIterator[tuple[EdgeApp, httpx.AsyncClient]]:
    app = create_edge_app(config or EdgeConfig(internal_token=TOKEN, upstream_timeout=2.0), upstream_url, **kwargs)
    async with serve_on_loopback(app) as edge_url:
        async with httpx.AsyncClient(base_url=edge_url, timeout=10) as client:
            yield app, client


@contextlib.asynccontextmanager
async def running_edge_with_internal(upstream_url: str, config: EdgeConfig | None = None, **kwargs):
    """The edge's public listener and its internal listener (ZELLY_EDGE_INTERNAL_BIND), each on its own port."""
    async with running_edge(upstream_url, config, **kwargs) as (app, public):
        async with serve_on_loopback(app.internal_app) as internal_url:
            async with httpx.AsyncClient(base_url=internal_url, timeout=10) as internal:
                yield app, public, internal


@pytest.fixture
async def edge_internal(origin):
    standin, url = origin
    async with running_edge_with_internal(url) as (app, public, internal):
        yield app, public, internal, standin


@pytest.fixture
async def edge(origin) -> AsyncIterator[tuple[EdgeApp, httpx.AsyncClient, StandInOrigin]]:
    standin, url = origin
    async with running_edge(url) as (app, client):
        yield app, client, standin


def shop(host: str = "shop-a.test", **headers: str) -> dict[str, str]:
    return {"host": host, **headers}


def stored(app: EdgeApp, path: str, host: str = "shop-a.test"):
    """The memory-tier entry for ``path`` (httpx asks for gzip, so that is its encoding class)."""
    return app.store.get(f"GET|{host}{path}?|gzip")

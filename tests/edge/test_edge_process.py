"""``zelly edge`` as its own process (granian) in front of an origin on loopback, purged over Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from edge import tags
from origin.broadcast import RedisBroadcast
from tests.conftest import REDIS_URL, require_server
from tests.edge.servers import serve_on_loopback
from tests.edge.standin_origin import StandInOrigin

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for_edge(url: str, process: asyncio.subprocess.Process) -> None:
    # Generous: the CLI alone takes seconds to import on a busy 2-core machine; a dead process fails at once.
    deadline = asyncio.get_running_loop().time() + 60
    async with httpx.AsyncClient() as client:
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"zelly edge exited with {process.returncode}")
            try:
                await client.get(f"{url}/internal/edge/stats")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise RuntimeError("zelly edge did not start")


@pytest.mark.parametrize("server", ["granian", "hypercorn"])
async def test_zelly_edge_serves_caches_and_takes_purges_from_redis(tmp_path, server: str) -> None:
    require_server("Redis", "127.0.0.1", 6379)
    redis_client = aioredis.Redis.from_url(REDIS_URL)
    broadcast = RedisBroadcast(redis_client)
    await redis_client.flushdb()
    standin = StandInOrigin()
    async with serve_on_loopback(standin) as origin_url:
        port, internal_port = free_port(), free_port()
        environment = {
            "PATH": os.environ.get("PATH", ""), "ZELLY_EDGE_BIND": f"127.0.0.1:{port}", "ZELLY_EDGE_UPSTREAM": origin_url,
            "ZELLY_EDGE_INTERNAL_BIND": f"127.0.0.1:{internal_port}",
            "ZELLY_REDIS_URL": REDIS_URL, "ZELLY_INTERNAL_TOKEN": "process-token", "ZELLY_DATA_DIR": str(tmp_path),
            "ZELLY_LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ops.cli", "edge", "--server", server, cwd=ROOT, env=environment,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            url, internal_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{internal_port}"
            await wait_for_edge(internal_url, process)
            async with httpx.AsyncClient(base_url=url) as client:
                first = await client.get("/products/hat", headers={"host": "shop-a.test"})
                second = await client.get("/products/hat", headers={"host": "shop-a.test"})
                channel = broadcast.channel_name(tags.PURGE_CHANNEL)
                for _ in range(100):  # the subscriber connects after start-up
                    if await redis_client.pubsub_numsub(channel) == [(channel.encode(), 1)]:
                        break
                    await asyncio.sleep(0.05)
                await broadcast.publish(tags.PURGE_CHANNEL, tags.purge_message(tags=["t1-p1"]))
                for _ in range(100):
                    third = await client.get("/products/hat", headers={"host": "shop-a.test"})
                    if "hit" not in third.headers["cache-status"]:
                        break
                    await asyncio.sleep(0.02)
                public_stats = await client.get("/internal/edge/stats", headers={"authorization": "Bearer process-token"})
                public_purge = await client.post("/internal/edge/purge", headers={"authorization": "Bearer process-token"}, json={"tenants": [1]})
                stats = (await client.get(f"{internal_url}/internal/edge/stats", headers={"authorization": "Bearer process-token"})).json()
        finally:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 15)
            await redis_client.flushdb()
            await redis_client.aclose()

    assert first.headers["cache-status"] == "Zelly; fwd=uri-miss; fwd-status=200; stored; ttl=60"
    assert second.headers["cache-status"].startswith("Zelly; hit")
    assert third.text == "GET shop-a.test/products/hat #2"
    assert public_stats.status_code == public_purge.status_code == 404  # internal means internal, token or not
    assert stats["tenants"]["1"]["purge"] == 1
    assert process.returncode == 0

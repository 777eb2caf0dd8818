"""``zelly edge`` (its own process) answers from its stale copy while the origin errs or is gone (issue 12, item 2).

The origin is the suite's stand-in (tests/edge/standin_origin.py) served on
loopback; the page it sends is fresh for one second and may be served stale
for a minute on error (``stale-if-error=60``, what the storefront sends with
86400). Once the copy is stale, the origin answering 500 and then not
listening at all must both still give shoppers the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import httpx

from tests.edge.servers import serve_on_loopback
from tests.edge.standin_origin import StandInOrigin
from tests.edge.test_edge_process import free_port, wait_for_edge
from tests.faults.harness import RedisServer

ROOT = Path(__file__).resolve().parents[2]
PAGE = "public, max-age=0, s-maxage=1, stale-if-error=60"


async def until_stale(client: httpx.AsyncClient, standin: StandInOrigin) -> None:
    """Wait out the page's one second of freshness: the edge then goes to the origin for it."""
    before = standin.total()
    for _ in range(200):
        await client.get("/products/hat", headers={"host": "shop-a.test"})
        if standin.total() > before:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the edge never went back to the origin")


async def test_the_edge_process_serves_stale_while_the_origin_errs_or_is_down(tmp_path, redis_server: RedisServer) -> None:
    standin = StandInOrigin()
    standin.set("/products/hat", cache_control=PAGE)
    port, internal_port = free_port(), free_port()
    origin = contextlib.AsyncExitStack()
    origin_url = await origin.enter_async_context(serve_on_loopback(standin))
    environment = {
        "PATH": os.environ.get("PATH", ""), "ZELLY_EDGE_BIND": f"127.0.0.1:{port}", "ZELLY_EDGE_UPSTREAM": origin_url,
        "ZELLY_EDGE_INTERNAL_BIND": f"127.0.0.1:{internal_port}", "ZELLY_REDIS_URL": redis_server.url,
        "ZELLY_INTERNAL_TOKEN": "process-token", "ZELLY_DATA_DIR": str(tmp_path), "ZELLY_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ops.cli", "edge", cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for_edge(f"http://127.0.0.1:{internal_port}", process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            first = await client.get("/products/hat", headers={"host": "shop-a.test"})
            standin.set("/products/hat", cache_control=PAGE, status=500, body=b"origin broke")
            await until_stale(client, standin)
            while_erring = await client.get("/products/hat", headers={"host": "shop-a.test"})
            await origin.aclose()  # the origin is gone: nothing listens on its port any more
            while_down = await client.get("/products/hat", headers={"host": "shop-a.test"})
            never_cached = await client.get("/products/other", headers={"host": "shop-a.test"})
    finally:
        await origin.aclose()
        process.send_signal(signal.SIGTERM)
        _, errors = await asyncio.wait_for(process.communicate(), 15)

    assert first.status_code == 200 and first.text == "GET shop-a.test/products/hat #1"
    assert (while_erring.status_code, while_erring.text) == (200, first.text)
    assert "stale-if-error" in while_erring.headers["cache-status"]
    assert (while_down.status_code, while_down.text) == (200, first.text)
    assert "stale-if-error" in while_down.headers["cache-status"]
    assert never_cached.status_code == 502  # nothing to fall back on: a clear gateway error
    assert b"serving stale-if-error" in errors  # a stale answer to an unreachable origin is logged with its cause
    assert process.returncode == 0

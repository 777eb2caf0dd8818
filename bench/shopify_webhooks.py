"""Webhook intake throughput: verified, deduplicated and enqueued per second, on one core.

    python bench/shopify_webhooks.py [--count 5000] [--concurrency 32] [--http | --wrk [--wrk-cpu N]]

Servers: MariaDB (delivery log) and Redis (the SHOPIFY_WEBHOOK stream), nothing
consuming, so this is intake alone: signature check, tenant lookup, one insert,
one XADD, the 200. Requests go through the Quart app in-process (ASGI, no
sockets); with --http they go over loopback TCP through hypercorn, the client
sharing the same process and core (a pessimistic setup); with --wrk, hypercorn
serves in this process (one core) and wrk (one thread, another process) sends
pre-signed deliveries, each with its own webhook id, for 10 seconds. Pin the
server to one core with ``taskset -c 1`` and wrk to the other with
``--wrk-cpu 0``. There is no ``--quart-only`` any more: the ASGI layer
(origin/web/asgi/webhook_intake.py) is the intake's only implementation (issue 10,
item 2), so there is no Quart route to compare it with.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench.shopify_sync import MYSQL_URL, prepared_settings  # noqa: E402
from origin import db  # noqa: E402
from origin.app import create_app  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.shopify.connections import do_connect  # noqa: E402
from origin.shopify.webhooks import dedupe_key  # noqa: E402
from origin.tenancy.actions import do_create_tenant  # noqa: E402
from ops.serve import hypercorn_config  # noqa: E402
from tests.fakes.shopify import WebhookSender, make_catalog  # noqa: E402
from tests.fakes.shopify.catalog import rest_product  # noqa: E402
from workers import queues  # noqa: E402
from workers.dispatch import open_task_queue  # noqa: E402

REDIS_URL = os.environ.get("ZELLY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


async def bench(count: int, concurrency: int, mode: str, wrk_cpu: int | None = None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings, prefix = await prepared_settings(Path(tmp), servers=True)
        # One sender address at thousands a second: lift the per-address webhook limit (still charged,
        # so the measured intake includes the rate limiter's round trip).
        settings = settings.replace(redis_url=REDIS_URL, rate_limit_webhooks_ip="1000000000/60", rate_limit_webhooks_tenant="1000000000/60")
        try:
            async with open_services(settings, with_analytics=False) as services, open_task_queue(
                services.settings, services, queue_names=(queues.SHOPIFY_WEBHOOK,)
            ):
                tenant = await do_create_tenant(services, slug="bench", name="Bench", currency="USD")
                await do_connect(services, tenant.id, shop_domain="bench.myshopify.com", access_token="shpat_bench_token", webhook_secret="whsec_bench_secret")
                catalog = make_catalog(50)
                bodies = [rest_product(product) for product in catalog.products.values()]
                app = create_app(services.settings, services=services)
                if mode == "wrk":
                    count, elapsed = await _with_wrk(app, count, concurrency, Path(tmp), wrk_cpu)
                else:
                    elapsed = await (_over_http if mode == "http" else _in_process)(app, bodies, count, concurrency)
                length = await services.redis.xlen(queues.stream_key(queues.SHOPIFY_WEBHOOK))
                await services.redis.delete(queues.stream_key(queues.SHOPIFY_WEBHOOK))
                keys = [key async for key in services.redis.scan_iter(match=dedupe_key(tenant.id, "*"), count=1000)]
                for start in range(0, len(keys), 1000):  # the run's dedupe keys: leave the Redis db as found
                    await services.redis.delete(*keys[start:start + 1000])
        finally:
            await db.drop_mysql_databases(MYSQL_URL, prefix)
    path = {"asgi": "ASGI in-process", "http": "hypercorn over loopback, client in-process", "wrk": "hypercorn over loopback, wrk -t1"}[mode]
    print(f"path={path} (ASGI intake) count={count} concurrency={concurrency}")
    print(f"enqueued: {length}   time: {elapsed:.2f} s   rate: {count / elapsed:.0f} webhooks/s")


async def _in_process(app, bodies, count, concurrency) -> float:
    client = app.test_client()
    sender = WebhookSender(None, "/webhooks/shopify", shop_domain="bench.myshopify.com", secret="whsec_bench_secret")
    prepared = []
    for index in range(count):
        body = sender.encode(bodies[index % len(bodies)])
        prepared.append((body, sender.headers("products/update", body, webhook_id=str(uuid.uuid4()))))
    return await _drive(lambda body, headers: client.post("/webhooks/shopify", data=body, headers=headers), prepared, concurrency)


async def _over_http(app, bodies, count, concurrency) -> float:
    from hypercorn.asyncio import serve
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, hypercorn_config(f"127.0.0.1:{port}"), shutdown_trigger=stop.wait))
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=httpx.Limits(max_connections=concurrency)) as http:
        sender = WebhookSender(http, "/webhooks/shopify", shop_domain="bench.myshopify.com", secret="whsec_bench_secret")
        prepared = []
        for index in range(count):
            body = sender.encode(bodies[index % len(bodies)])
            prepared.append((body, sender.headers("products/update", body, webhook_id=str(uuid.uuid4()))))
        elapsed = await _drive(lambda body, headers: http.post("/webhooks/shopify", content=body, headers=headers), prepared, concurrency)
    stop.set()
    await server
    return elapsed


WRK_SCRIPT = """
local requests = {}
for line in io.lines("%s") do
  local id, signature, body = line:match("([^\t]+)\t([^\t]+)\t(.*)")
  requests[#requests + 1] = {id = id, signature = signature, body = body}
end
local index = 0
request = function()
  index = index %% #requests + 1
  local r = requests[index]
  return wrk.format("POST", "/webhooks/shopify", {
    ["Content-Type"] = "application/json", ["X-Shopify-Topic"] = "products/delete",
    ["X-Shopify-Shop-Domain"] = "bench.myshopify.com", ["X-Shopify-Webhook-Id"] = r.id,
    ["X-Shopify-Hmac-Sha256"] = r.signature, ["X-Shopify-Triggered-At"] = "2026-01-01T00:00:00Z",
  }, r.body)
end
"""


async def _with_wrk(app, count: int, concurrency: int, tmp: Path, wrk_cpu: int | None) -> tuple[int, float]:
    """Deliveries pre-signed here (wrk's Lua has no HMAC); count must exceed what 10 s can send."""
    from hypercorn.asyncio import serve
    import socket

    from tests.fakes.shopify.webhooks import signature

    run = uuid.uuid4().hex[:12]  # ids unique across runs: the Redis dedupe keys outlive a run (48 h)
    with open(tmp / "requests.tsv", "w") as out:
        for index in range(count):
            body = f'{{"id":{2**53 + index}}}'
            out.write(f"bench-{run}-{index}\t{signature('whsec_bench_secret', body.encode())}\t{body}\n")
    (tmp / "script.lua").write_text(WRK_SCRIPT % (tmp / "requests.tsv"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, hypercorn_config(f"127.0.0.1:{port}"), shutdown_trigger=stop.wait))
    await asyncio.sleep(0.5)
    pinning = ("taskset", "-c", str(wrk_cpu)) if wrk_cpu is not None else ()
    process = await asyncio.create_subprocess_exec(
        *pinning, "wrk", "-t1", f"-c{concurrency}", "-d10s", "-s", str(tmp / "script.lua"), f"http://127.0.0.1:{port}/",
        stdout=asyncio.subprocess.PIPE,
    )
    output = (await process.communicate())[0].decode()
    stop.set()
    await server
    print(output)
    sent = int(output.split(" requests in ")[0].split()[-1])
    if sent > count:
        raise SystemExit(f"wrk sent {sent} > {count} prepared deliveries: later ones were duplicates; raise --count")
    elapsed = float(output.split(" requests in ")[1].split("s,")[0])
    return sent, elapsed


async def _drive(post, prepared, concurrency) -> float:
    queue = list(reversed(prepared))
    failures = []

    async def worker() -> None:
        while queue:
            body, headers = queue.pop()
            response = await post(body, headers)
            if response.status_code != 200:
                failures.append(response.status_code)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} webhooks were refused: {failures[:5]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--wrk", action="store_true")
    parser.add_argument("--wrk-cpu", type=int, default=None, help="run wrk pinned to this CPU (taskset)")
    args = parser.parse_args()
    mode = "wrk" if args.wrk else "http" if args.http else "asgi"
    asyncio.run(bench(args.count, args.concurrency, mode, args.wrk_cpu))


if __name__ == "__main__":
    main()

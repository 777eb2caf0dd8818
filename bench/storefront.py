"""Storefront benchmark: the origin alone under hypercorn, pinned to one core.

    python bench/storefront.py [--backend embedded|servers|both] [--duration 5]

For each backend it builds a fresh store (migrate + the demo seed: 3 tenants,
~200 products each), starts ``hypercorn ops.asgi:app`` under
``taskset -c 1`` and drives it from core 0:

- cache hit: ``wrk`` (closed loop, 32 connections) on a warmed URL;
- cache miss: an open-loop Python generator at a fixed rate (default 100/s)
  where every request is a full miss (page and catalog reads): distinct
  products / distinct price filters, and on MariaDB+Redis the tenant's catalog
  version is bumped before each request (so home misses too). Latency is
  measured from each request's *scheduled* time, so a stall is not hidden.

``--closed-miss`` (issue 14, item 5) replaces the open-loop misses with
closed-loop ones: ``wrk`` with 32 connections where every request is a URL the
caches have never seen, for collection (a distinct ``price_min`` per request),
product (a distinct ``?variant=`` per request, cycling the tenants' products)
and search pages (distinct one- and two-word queries drawn from the product
handles, each matching products). The URLs come from a file a small wrk Lua
script walks; there are more of them than a run can send, so no request is a
hit. The hit measurements run too, so a run shows both.

Loopback only; a run takes well under a minute. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from origin import db  # noqa: E402
from origin.services import open_services  # noqa: E402
from origin.settings import Settings  # noqa: E402

SERVER_CORE = "1"
LOADER_CORE = 0
TENANT_HOST = "acme.localhost"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZELLY_")}
    env.update({
        "ZELLY_DATA_DIR": str(settings.data_dir),
        "ZELLY_SECRET_KEY": settings.secret_key.reveal(),
        "ZELLY_DATABASE_URL": settings.database_url,
        "ZELLY_DATABASE_SCHEMA_PREFIX": settings.database_schema_prefix,
        "ZELLY_REDIS_URL": settings.redis_url,
        "ZELLY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    })
    return env


async def prepare(settings: Settings) -> None:
    from ops.commands.migrate import migrate_all
    from ops.seed import seed_demo

    if settings.database_url:
        await db.create_mysql_databases(settings.database_url, settings.database_schema_prefix)
    await migrate_all(settings, echo=lambda *a: None)
    async with open_services(settings, with_analytics=False) as services:
        if services.redis is not None:
            await services.redis.flushdb()
        await seed_demo(services, echo=lambda *a: None)


def start_server(settings: Settings, port: int, loop: str) -> subprocess.Popen:
    command = ["taskset", "-c", SERVER_CORE, sys.executable, "-m", "hypercorn", "ops.asgi:app",
               "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", loop]
    return subprocess.Popen(command, env=environment(settings), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def stop_server(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            try:
                if (await client.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the origin did not start")


async def discover(base: str) -> dict[str, list[str]]:
    """Product and collection paths of every demo tenant, from their sitemaps."""
    paths: dict[str, list[str]] = {}
    async with httpx.AsyncClient() as client:
        for slug in ("acme", "nordic", "kyoto"):
            xml = (await client.get(base + "/sitemap.xml", headers={"Host": f"{slug}.localhost"})).text
            paths[slug] = [urlsplit(loc).path for loc in re.findall(r"<loc>([^<]+)</loc>", xml)]
    return paths


def wrk(base: str, path: str, duration: int, connections: int) -> dict[str, float]:
    output = subprocess.run(
        ["taskset", "-c", str(LOADER_CORE), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
         "-H", f"Host: {TENANT_HOST}", base + path],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rps": rate, "p50": _ms(output, "50%"), "p99": _ms(output, "99%"), "errors": int(non_2xx.group(1)) if non_2xx else 0}


WALK_LUA = """
local paths, hosts, index = {}, {}, 0
for line in io.lines(os.getenv("ZELLY_BENCH_URLS")) do
  local host, path = line:match("^([^ ]+) (.+)$")
  hosts[#hosts + 1] = host
  paths[#paths + 1] = path
end
request = function()
  index = index % #paths + 1
  return wrk.format("GET", paths[index], {["Host"] = hosts[index]})
end
"""


def wrk_walk(base: str, targets: list[tuple[str, str]], duration: int, connections: int) -> dict[str, float]:
    """wrk over ``targets`` (host, path) in order, one each request: a closed loop of distinct URLs."""
    with tempfile.TemporaryDirectory(prefix="zelly-bench-wrk-") as folder:
        script, urls = Path(folder) / "walk.lua", Path(folder) / "urls.txt"
        script.write_text(WALK_LUA)
        urls.write_text("".join(f"{host} {path}\n" for host, path in targets))
        output = subprocess.run(
            ["taskset", "-c", str(LOADER_CORE), "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
             "-s", str(script), base],
            capture_output=True, text=True, check=True, env={**os.environ, "ZELLY_BENCH_URLS": str(urls)},
        ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    total = int(re.search(r"(\d+) requests in", output).group(1))
    if total > len(targets):
        raise RuntimeError(f"wrk sent {total} requests for {len(targets)} distinct URLs: some were hits; give it more URLs")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return {"rps": rate, "p50": _ms(output, "50%"), "p99": _ms(output, "99%"), "errors": int(non_2xx.group(1)) if non_2xx else 0}


def search_queries(paths: dict[str, list[str]], count: int) -> list[tuple[str, str]]:
    """Distinct queries that each match a product: pieces of its handle's words, alone and in pairs."""
    queries: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for length in (3, 4, 5, 2):
        for slug, tenant_paths in paths.items():
            for path in tenant_paths:
                if not path.startswith("/products/"):
                    continue
                words = [w for w in path.removeprefix("/products/").split("-") if len(w) >= length and not w.isdigit()]
                pieces = sorted({w[i:i + length] for w in words for i in range(len(w) - length + 1)})
                for first in pieces:
                    for second in [None, *pieces]:
                        if second == first:
                            continue
                        q = first if second is None else f"{first}+{second}"
                        if (slug, q) not in seen:
                            seen.add((slug, q))
                            queries.append((f"{slug}.localhost", f"/search?q={q}"))
                            if len(queries) >= count:
                                return queries
    return queries


def _ms(output: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def open_loop(base: str, targets: list[tuple[str, str]], rate: int, before_each=None) -> dict[str, float]:
    """Send ``targets`` (host, path) at a fixed rate; latency from each scheduled start."""
    latencies: list[float] = []
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:
        async def one(scheduled: float, host: str, path: str) -> None:
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            if before_each is not None:
                await before_each(host)  # counted in the latency: conservative, and it is one Redis INCR
            try:
                response = await client.get(base + path, headers={"Host": host})
            except httpx.TransportError:  # an overloaded server dropped it: an error, not the end of the run
                status = 0
            else:
                status = response.status_code
            latencies.append((time.perf_counter() - scheduled) * 1000)
            statuses.append(status)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(start + i / rate, host, path) for i, (host, path) in enumerate(targets)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(targets) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": sum(1 for status in statuses if status != 200),
    }


async def run_backend(name: str, args) -> list[tuple[str, str, dict[str, float]]]:
    data_dir = Path(tempfile.mkdtemp(prefix="zelly-bench-"))
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-0123456789")
    prefix = ""
    if name == "servers":
        prefix = f"zbench_{uuid.uuid4().hex[:6]}_"
        settings = settings.replace(database_url=args.mysql_url, database_schema_prefix=prefix, redis_url=args.redis_url)
    results = []
    process = None
    try:
        await prepare(settings)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        process = start_server(settings, port, args.loop)
        await wait_ready(base)
        paths = await discover(base)
        acme = paths["acme"]
        collection = next(p for p in acme if p.startswith("/collections/"))
        product = next(p for p in acme if p.startswith("/products/"))
        for label, path in (("home", "/"), ("collection", collection), ("product", product)):
            async with httpx.AsyncClient() as client:
                await client.get(base + path, headers={"Host": TENANT_HOST})  # warm
            results.append((label, "hit", wrk(base, path, args.duration, args.connections)))

        if args.closed_miss:
            results += await closed_misses(base, paths, collection, args)
            return results
        count = args.rate * args.duration
        products = [(f"{slug}.localhost", p) for slug, ps in paths.items() for p in ps if p.startswith("/products/")]
        collection_targets = [(TENANT_HOST, f"{collection}?price_min={i}") for i in range(count)]
        results.append(("product", "miss", await open_loop(base, products[:count], args.rate)))
        results.append(("collection", "miss", await open_loop(base, collection_targets, args.rate)))
        if name == "servers":
            import redis.asyncio as aioredis

            from edge.tags import PURGE_CHANNEL, purge_message

            bump = aioredis.Redis.from_url(args.redis_url)
            async with httpx.AsyncClient() as client:
                tenant_tag = (await client.get(base + "/", headers={"Host": TENANT_HOST})).headers["Cache-Tag"].split(",")[0]

            async def retire(host: str) -> None:
                # What publish_purge does after a catalog write: the next request is a full miss.
                await bump.incr(f"zelly:{tenant_tag}:catalog-version")
                await bump.publish(PURGE_CHANNEL, purge_message(tags=[tenant_tag]))

            try:
                results.append(("home", "miss", await open_loop(base, [(TENANT_HOST, "/")] * count, args.rate, retire)))
            finally:
                await bump.aclose()
    finally:
        if process is not None:
            stop_server(process)
        if prefix:
            await db.drop_mysql_databases(args.mysql_url, prefix)
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


async def closed_misses(base: str, paths: dict[str, list[str]], collection: str, args) -> list[tuple[str, str, dict[str, float]]]:
    """Collection, product and search misses, 32 connections, every URL new to every cache."""
    count = args.miss_urls
    products = [(f"{slug}.localhost", p) for slug, ps in paths.items() for p in ps if p.startswith("/products/")]
    targets = {
        "collection": [(TENANT_HOST, f"{collection}?price_min=0.{i:06d}") for i in range(1, count + 1)],
        "product": [(host, f"{path}?variant={900_000_000 + i}") for i in range(count) for host, path in [products[i % len(products)]]],
        "search": search_queries(paths, count),
    }
    results = []
    async with httpx.AsyncClient() as client:
        for slug in paths:
            # The first miss of each tenant starts its catalog snapshot; let the builds finish.
            await client.get(base + f"/collections/all?price_min=0.9999999", headers={"Host": f"{slug}.localhost"})
    await asyncio.sleep(1.0)
    for label, page_targets in targets.items():
        results.append((label, "miss (closed)", wrk_walk(base, page_targets, args.duration, args.connections)))
    return results


async def asgi_get(app, path: str, host: str) -> int:
    """One request straight into the ASGI app: no server, no socket."""
    raw, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": raw, "raw_path": raw.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", host.encode())], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "extensions": {}}
    done = asyncio.Event()
    started: list[dict] = []
    calls = 0

    async def receive() -> dict:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            started.append(message)
        elif not message.get("more_body"):
            done.set()

    await app(scope, receive, send)
    return started[0]["status"]


async def run_in_process(name: str, args) -> list[tuple[str, str, dict[str, float]]]:
    """Per-request CPU cost of the origin alone (the app called directly, no server)."""
    from origin.app import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="zelly-bench-"))
    settings = Settings(data_dir=data_dir, secret_key="bench-secret-key-0123456789")
    prefix = f"zbench_{uuid.uuid4().hex[:6]}_" if name == "servers" else ""
    if prefix:
        settings = settings.replace(database_url=args.mysql_url, database_schema_prefix=prefix, redis_url=args.redis_url)
    results = []
    try:
        await prepare(settings)
        async with open_services(settings, with_analytics=False) as services:
            app = create_app(settings, services=services)
            async with app.test_app():
                from origin.catalog.queries import select_collections
                from origin.tenancy.queries import select_tenant_by_slug

                async with services.db.connect() as conn:
                    tenant = await select_tenant_by_slug(conn, "acme")
                    collection = "/collections/" + (await select_collections(conn, tenant.id))[0].handle
                await asgi_get(app, "/", TENANT_HOST)
                count = args.rate * args.duration
                product = "/products/" + (await discover_in_process(app))[0]
                for label, path in (("home", "/"), ("collection", collection), ("product", product)):
                    await asgi_get(app, path, TENANT_HOST)
                    started, cpu_started = time.perf_counter(), time.process_time()
                    for _ in range(count * 4):
                        await asgi_get(app, path, TENANT_HOST)
                    results.append((label, "hit", {"us": (time.perf_counter() - started) / (count * 4) * 1e6,
                                                   "cpu_us": (time.process_time() - cpu_started) / (count * 4) * 1e6}))
                handles = await discover_in_process(app, everything=True)
                await asyncio.sleep(0.5)  # the catalog snapshot the first miss started (origin/catalog/snapshot.py)
                misses = {
                    "product": [f"/products/{h}?variant={900_000_000 + i}" for i in range(count) for h in [handles[i % len(handles)]]],
                    "collection": [f"{collection}?price_min=0.{i:06d}" for i in range(1, count + 1)],
                    "search": [path for _, path in search_queries({"acme": [f"/products/{h}" for h in handles]}, count)],
                }
                for label, paths in misses.items():
                    profile = cProfile.Profile() if args.profile == label else None
                    started, cpu_started = time.perf_counter(), time.process_time()
                    if profile is not None:
                        profile.enable()
                    for path in paths:
                        await asgi_get(app, path, TENANT_HOST)
                    if profile is not None:
                        profile.disable()
                    # CPU time (process_time: this process's user + system, every thread) moves far less than
                    # wall time with other sessions' load; the servers backend's round trips count only in wall.
                    results.append((label, "miss", {"us": (time.perf_counter() - started) / len(paths) * 1e6,
                                                    "cpu_us": (time.process_time() - cpu_started) / len(paths) * 1e6}))
                    if profile is not None:
                        # Synchronous parts (render, view models, snapshot reads) are exact here; coroutine
                        # frames are counted per resumption, and time the loop waits on a thread shows in select().
                        pstats.Stats(profile, stream=sys.stderr).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(40)
    finally:
        if prefix:
            await db.drop_mysql_databases(args.mysql_url, prefix)
        shutil.rmtree(data_dir, ignore_errors=True)
    return results


async def discover_in_process(app, everything: bool = False) -> list[str]:
    from origin.catalog.queries import select_sitemap_entries
    from origin.tenancy.queries import select_tenant_by_slug
    from origin.web.context import SERVICES_KEY

    services = app.extensions[SERVICES_KEY]
    async with services.db.connect() as conn:
        tenant = await select_tenant_by_slug(conn, "acme")
        entries = await select_sitemap_entries(conn, tenant.id)
    handles = [e.path.removeprefix("/products/") for e in entries if e.path.startswith("/products/")]
    return handles if everything else handles[:1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("embedded", "servers", "both"), default="both")
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for cache hits")
    parser.add_argument("--rate", type=int, default=100, help="requests/s for cache misses")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="hypercorn worker class")
    parser.add_argument("--mysql-url", default="mysql+aiomysql://root@127.0.0.1:3306/")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--in-process", action="store_true", help="per-request cost without a server (no wrk, no sockets)")
    parser.add_argument("--profile", choices=("product", "collection", "search"), help="with --in-process: cProfile that page's misses (to stderr)")
    parser.add_argument("--closed-miss", action="store_true", help="misses as a closed loop (wrk, distinct URLs) for collection, product, search")
    parser.add_argument("--miss-urls", type=int, default=120_000, help="distinct URLs per page type for --closed-miss")
    args = parser.parse_args()
    if args.in_process:
        os.sched_setaffinity(0, {int(SERVER_CORE)})
        print("| backend | page | cache | wall µs per request | CPU µs per request |\n|---|---|---|---:|---:|")
        for backend in (("embedded", "servers") if args.backend == "both" else (args.backend,)):
            for page, kind, r in asyncio.run(run_in_process(backend, args)):
                print(f"| {backend} | {page} | {kind} | {r['us']:.0f} | {r['cpu_us']:.0f} |", flush=True)
        return
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (apt-get install -y wrk util-linux)")
    os.sched_setaffinity(0, {LOADER_CORE})
    backends = ("embedded", "servers") if args.backend == "both" else (args.backend,)
    print(f"| backend | page | cache | req/s | p50 ms | p99 ms | non-200 |\n|---|---|---|---|---|---|---|")
    for backend in backends:
        for page, kind, r in asyncio.run(run_backend(backend, args)):
            print(f"| {backend} | {page} | {kind} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']} |", flush=True)


if __name__ == "__main__":
    main()

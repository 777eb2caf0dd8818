"""Storefront throughput while Redis is down, next to normal (issue 12, "Done when").

    python bench/redis_outage.py [--duration 5] [--rate 100] [--runs 3]

MariaDB + a private ``redis-server`` of this script on a spare port (never the
shared one: the run kills it). The origin (``hypercorn ops.asgi:app``) runs under
``taskset -c 1``, wrk and the open-loop generator on core 0, as in
bench/storefront.py (whose helpers this reuses). Each run measures, Redis up
and then Redis killed (refused: the circuit breaker answers at once after the
first failure):

- cache hit: wrk, 32 connections, on the warmed home and product pages;
- cache miss: open loop at ``--rate``/s over distinct price filters of a
  collection (a key never seen before: page and catalog reads from the database).

Prints a Markdown table per run and the medians; results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.storefront import (  # noqa: E402
    LOADER_CORE, TENANT_HOST, discover, free_port, open_loop, prepare, start_server, stop_server, wait_ready, wrk,
)
from origin import db  # noqa: E402
from origin.settings import Settings  # noqa: E402


class PrivateRedis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["taskset", "-c", str(LOADER_CORE), "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


async def one_run(args, settings: Settings, redis: PrivateRedis) -> list[tuple[str, str, str, dict[str, float]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    results = []
    redis.start()
    await prepare(settings)
    process = start_server(settings, port, "asyncio")
    try:
        await wait_ready(base)
        paths = await discover(base)
        product = next(p for p in paths["acme"] if p.startswith("/products/"))
        collection = next(p for p in paths["acme"] if p.startswith("/collections/"))
        count = args.rate * args.duration
        for phase in ("redis up", "redis down"):
            if phase == "redis down":
                redis.kill()
                await asyncio.sleep(1.0)  # the breaker opens on the first failed command
            for label, path in (("home", "/"), ("product", product)):
                async with httpx.AsyncClient() as client:
                    await client.get(base + path, headers={"Host": TENANT_HOST})  # warm (or, down: the first failure)
                results.append((phase, label, "hit", wrk(base, path, args.duration, args.connections)))
            # Distinct filters per phase, so every request is a miss read from the database.
            offset = 0 if phase == "redis up" else count
            targets = [(TENANT_HOST, f"{collection}?price_min={offset + i}") for i in range(count)]
            results.append((phase, "collection", "miss", await open_loop(base, targets, args.rate)))
    finally:
        stop_server(process)
        redis.kill()
    return results


async def main_async(args) -> None:
    rows: dict[tuple[str, str, str], list[dict[str, float]]] = {}
    for run in range(args.runs):
        data_dir = Path(tempfile.mkdtemp(prefix="zelly-bench-outage-"))
        redis = PrivateRedis(data_dir)
        prefix = f"zbench_{uuid.uuid4().hex[:6]}_"
        settings = Settings(
            data_dir=data_dir, secret_key="bench-secret-key-0123456789", database_url=args.mysql_url,
            database_schema_prefix=prefix, redis_url=f"redis://127.0.0.1:{redis.port}/0",
        )
        try:
            results = await one_run(args, settings, redis)
        finally:
            await db.drop_mysql_databases(args.mysql_url, prefix)
            shutil.rmtree(data_dir, ignore_errors=True)
        print(f"run {run + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
        for phase, page, kind, r in results:
            rows.setdefault((phase, page, kind), []).append(r)
            print(f"  {phase} {page} {kind}: {r['rps']:.0f} req/s p50 {r['p50']:.2f} ms p99 {r['p99']:.2f} ms non-200 {r['errors']}", flush=True)
    print(f"\nmedians of {args.runs} runs\n\n| Redis | page | cache | req/s | p50 ms | p99 ms | non-200 |\n|---|---|---|---|---|---|---|")
    for (phase, page, kind), runs in rows.items():
        median = {key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p99")}
        errors = sum(r["errors"] for r in runs)
        print(f"| {phase.removeprefix('redis ')} | {page} | {kind} | {median['rps']:.0f} | {median['p50']:.2f} | {median['p99']:.2f} | {errors} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections for cache hits")
    parser.add_argument("--rate", type=int, default=100, help="requests/s for cache misses")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mysql-url", default="mysql+aiomysql://root@127.0.0.1:3306/")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None or shutil.which("redis-server") is None:
        sys.exit("needs wrk, taskset and redis-server (apt-get install -y wrk util-linux redis-server)")
    os.sched_setaffinity(0, {LOADER_CORE})
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()

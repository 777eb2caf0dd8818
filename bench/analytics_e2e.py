"""End to end: POST /events -> store-events queue -> consumer -> rows queryable in chDB.

    python bench/analytics_e2e.py [--seconds 30] [--connections 16] [--batch 50] [--redis redis://127.0.0.1:6379/6]

Starts the origin as ``zelly dev`` runs it (one process: hypercorn, the public
app, the analytics runtime with its consumer, chDB in a temp directory; with
--redis the queue and cache are in that Redis db), then drives it from this
process over loopback with keep-alive connections, each POSTing batches of
--batch events from varying shopper addresses (X-Forwarded-For behind a
trusted proxy, so visitors and sessions are realistic). The server prints
its consumer's progress every second; the report gives the sustained intake
rate, the insert rate, the lag (oldest event of a batch to the end of its
insert) and the time to drain after the load stops, and checks that the rows
in chDB (FINAL) equal the events accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "bench.localhost"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the server process

async def serve(port: int) -> None:
    from ops.commands.migrate import migrate_all
    from ops.serve import serve_all, shutdown_event
    from origin.analytics import engine
    from origin.analytics.queue import queue_for
    from origin.analytics.runtime import analytics_runtime
    from origin.app import create_app
    from origin.services import open_services
    from origin.settings import Settings
    from origin.tenancy.actions import do_create_tenant

    settings = Settings.from_env(env_file=None)
    await migrate_all(settings, echo=lambda line: None)
    stop = shutdown_event()
    async with open_services(settings, with_analytics=True) as services:
        await do_create_tenant(services, slug="bench", name="Bench", currency="USD")
        async with analytics_runtime(services, with_rollups=False) as consumer:
            queue = queue_for(services)

            async def report(stop_event: asyncio.Event) -> None:
                while not stop_event.is_set():
                    line = {"t": time.time(), "inserted": consumer.stats.rows, "backlog": await queue.backlog(),
                            "lag": round(consumer.stats.last_lag_seconds, 3), "batches": consumer.stats.batches}
                    print("STATS " + json.dumps(line), flush=True)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop_event.wait(), timeout=1.0)

            print(f"READY {port}", flush=True)
            await serve_all([(create_app(settings, services=services), f"127.0.0.1:{port}")], stop, background=[report])
        rows = await engine.query_rows(services.analytics, "SELECT count() FROM events FINAL")
        print(f"FINAL {rows[0][0]}", flush=True)


# ---------------------------------------------------------------- the load generator

def make_body(batch: int, seq: int) -> bytes:
    events = []
    for n in range(batch):
        kind = n % 10
        if kind < 6:
            events.append({"name": "page_view", "url": f"https://{HOST}/products/p{(seq + n) % 500}?utm_source=news",
                           "referrer": "https://www.google.com/"})
        elif kind < 8:
            events.append({"name": "product_view", "url": f"https://{HOST}/products/p{n}", "props": {"product_id": 1 + n}})
        elif kind == 8:
            events.append({"name": "add_to_cart", "url": f"https://{HOST}/products/p{n}",
                           "props": {"product_id": 1 + n, "quantity": 1, "value": "19.99", "currency": "USD"}})
        else:
            events.append({"name": "purchase", "url": f"https://{HOST}/checkout/thank-you",
                           "props": {"product_id": 1 + n, "quantity": 1, "value": "19.99", "currency": "USD",
                                     "order_id": f"o{seq}-{n}"}})
    return json.dumps(events).encode()


async def drive(port: int, seconds: float, connections: int, batch: int) -> tuple[int, int, list[float]]:
    bodies = [make_body(batch, seq) for seq in range(64)]
    deadline = time.monotonic() + seconds
    accepted = 0
    errors = 0
    latencies: list[float] = []

    async def connection(index: int) -> None:
        nonlocal accepted, errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seq = index
        try:
            while time.monotonic() < deadline:
                body = bodies[seq % len(bodies)]
                address = f"198.51.{(seq // 250) % 250}.{seq % 250 + 1}"
                head = (
                    f"POST /events HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
                    f"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\nX-Forwarded-For: {address}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                started = time.perf_counter()
                writer.write(head + body)
                status_line = await reader.readline()
                if not status_line:  # hypercorn closes a keep-alive connection after 1,000 requests: reconnect
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                payload = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if b" 202 " in status_line:
                    accepted += json.loads(payload)["accepted"]
                else:
                    errors += 1
                seq += connections
        finally:
            writer.close()

    await asyncio.gather(*(connection(i) for i in range(connections)))
    return accepted, errors, latencies


async def read_lines(stream, sink: list[str], ready: asyncio.Event) -> None:
    while line := await stream.readline():
        text = line.decode().strip()
        sink.append(text)
        if text.startswith("READY"):
            ready.set()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--redis", default="")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    if args.seconds > 60:
        parser.error("keep it to a minute at most (shared machine)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="zelly-bench-e2e-") as data_dir:
        env = {**os.environ, "ZELLY_DATA_DIR": data_dir, "ZELLY_TRUSTED_PROXIES": "127.0.0.1", "ZELLY_LOG_LEVEL": "WARNING",
               "ZELLY_SECRET_KEY": "bench-secret-key-0123456789", "ZELLY_PLATFORM_DOMAIN": "localhost",
               # The bench's one store takes every batch: lift its per-store beacon budget (still charged).
               "ZELLY_RATE_LIMIT_EVENTS_TENANT": "1000000000/60", "ZELLY_RATE_LIMIT_EVENTS_IP": "1000000000/60"}
        if args.redis:
            env["ZELLY_REDIS_URL"] = args.redis
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(args.redis)
            await client.delete("store-events")  # the bench's private db index: start from an empty stream
            await client.aclose()
        server = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve", str(port), cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        lines: list[str] = []
        ready = asyncio.Event()
        reader = asyncio.create_task(read_lines(server.stdout, lines, ready))
        try:
            await asyncio.wait_for(ready.wait(), timeout=60)
            for _ in range(100):  # READY is printed just before hypercorn binds
                try:
                    _, probe = await asyncio.open_connection("127.0.0.1", port)
                    probe.close()
                    break
                except OSError:
                    await asyncio.sleep(0.05)
            load_started = time.time()
            accepted, errors, latencies = await drive(port, args.seconds, args.connections, args.batch)
            load_ended = time.time()
            drained_at = None
            for _ in range(600):
                stats = [json.loads(line[6:]) for line in lines if line.startswith("STATS ")]
                if stats and stats[-1]["inserted"] >= accepted and stats[-1]["t"] > load_ended:
                    drained_at = stats[-1]["t"]
                    break
                await asyncio.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), timeout=60)
            await reader
        stats = [json.loads(line[6:]) for line in lines if line.startswith("STATS ")]
        during = [s for s in stats if load_started <= s["t"] <= load_ended]
        final = next((line for line in lines if line.startswith("FINAL")), "FINAL ?")
        duration = load_ended - load_started
        inserted_during = (during[-1]["inserted"] - during[0]["inserted"]) / max(during[-1]["t"] - during[0]["t"], 1e-9) if len(during) > 1 else 0
        lags = [s["lag"] for s in during if s["inserted"]]
        print(f"load: {args.connections} connections x batches of {args.batch} for {duration:.1f} s "
              f"({'redis queue' if args.redis else 'in-process queue'}, chDB, one origin process)")
        print(f"  intake accepted   {accepted:>10,} events  = {accepted / duration:>9,.0f} events/s  ({errors} non-202)")
        print(f"  request latency   p50 {statistics.median(latencies) * 1000:.1f} ms   p99 {sorted(latencies)[int(len(latencies) * 0.99)] * 1000:.1f} ms")
        print(f"  inserted rate     {inserted_during:>9,.0f} rows/s during the load")
        if lags:
            print(f"  lag (oldest event of a batch -> inserted)  median {statistics.median(lags):.2f} s   max {max(lags):.2f} s")
        print(f"  backlog at end of load  {during[-1]['backlog'] if during else '?'} messages;  "
              f"drained {((drained_at or float('nan')) - load_ended):.1f} s after the load stopped")
        print(f"  rows in chDB (FINAL): {final.split()[1]}  (accepted: {accepted})")
        if drained_at is None:
            print("  server output tail:\n    " + "\n    ".join(lines[-15:]))


if __name__ == "__main__":
    asyncio.run(main())

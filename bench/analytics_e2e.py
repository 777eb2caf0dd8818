"""End to end: POST /events -> store-events queue -> consumer -> rows queryable in chDB.

    python bench/analytics_e2e.py [--seconds 30] [--connections 16] [--batch 50] [--redis redis://127.0.0.1:6379/6]
    python bench/analytics_e2e.py --one-event [--server hypercorn|granian] [--seconds 10] [--connections 32]
                                  [--server-cpu 0 --wrk-cpu 1] [--redis redis://127.0.0.1:6379/6]
    python bench/analytics_e2e.py --one-event --in-process [--requests 5000] [--concurrency 32] [--redis ...]

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

``--one-event`` (issue 14, item 5) measures what a browser sends: one
``page_view`` per ``POST /events``, from ``wrk -t1`` (a Lua script varying
``X-Forwarded-For`` per request, so every request is a new visitor and
session) pinned to ``--wrk-cpu``, against the origin pinned to
``--server-cpu`` (taskset), served by hypercorn (what ``zelly dev`` and
``zelly origin`` run) or granian (``--server granian``, the edge's server,
to show what the ASGI server costs). Requests are answered by the beacon's
raw-ASGI path (origin/web/asgi/beacon_intake.py) and batched in process; the
report gives wrk's requests/s and latency and checks the rows in chDB against
the 202 answers.
"""

from __future__ import annotations

import argparse
import cProfile
import asyncio
import contextlib
import json
import os
import pstats
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


# ---------------------------------------------------------------- one event per request (--one-event)

def _bench_process_context(services):
    """What the served process runs beside the app: the bench store, the consumer, progress lines, the final count."""
    from origin.analytics import engine
    from origin.analytics.queue import queue_for
    from origin.analytics.runtime import analytics_runtime
    from origin.tenancy.actions import do_create_tenant

    @contextlib.asynccontextmanager
    async def running():
        await do_create_tenant(services, slug="bench", name="Bench", currency="USD")
        async with contextlib.AsyncExitStack() as stack:
            consumer = await stack.enter_async_context(analytics_runtime(services, with_rollups=False))
            stop = asyncio.Event()

            async def report() -> None:
                while not stop.is_set():
                    line = {"t": time.time(), "inserted": consumer.stats.rows, "backlog": await queue_for(services).backlog(),
                            "lag": round(consumer.stats.last_lag_seconds, 3), "batches": consumer.stats.batches}
                    print("STATS " + json.dumps(line), flush=True)
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=1.0)

            reporter = asyncio.create_task(report())
            print("READY", flush=True)
            try:
                yield
            finally:
                stop.set()
                await reporter
        # The consumer flushed its last batch on the way out: every queued row is in chDB now.
        rows = await engine.query_rows(services.analytics, "SELECT count() FROM events FINAL")
        print(f"FINAL {rows[0][0]}", flush=True)

    return running()


def _prepare(settings) -> None:
    from ops.commands.migrate import migrate_all

    asyncio.run(migrate_all(settings, echo=lambda line: None))


def granian_app():
    """granian's ``--factory`` target: the public app opening its own services, as ``zelly origin`` does."""
    from origin.app import create_app
    from origin.settings import Settings

    settings = Settings.from_env(env_file=None)
    _prepare(settings)
    return create_app(settings, process_contexts=[_bench_process_context])


async def serve_one_event(port: int) -> None:
    """The hypercorn server of --one-event: ``serve_all`` as ``zelly dev`` serves, the app opening its own services."""
    from ops.serve import serve_all, shutdown_event
    from origin.app import create_app
    from origin.settings import Settings

    settings = Settings.from_env(env_file=None)
    await asyncio.to_thread(_prepare, settings)
    await serve_all([(create_app(settings, process_contexts=[_bench_process_context]), f"127.0.0.1:{port}")], shutdown_event())


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"name":"page_view","url":"https://%(host)s/products/p1","referrer":"https://www.google.com/"}'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/events", {
    ["Host"] = "%(host)s", ["Content-Type"] = "application/json",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
    ["X-Forwarded-For"] = "198." .. (n %% 250) .. "." .. (math.floor(n / 250) %% 250) .. "." .. (math.floor(n / 62500) %% 250 + 1),
  })
end
"""


async def in_process(requests: int, concurrency: int = 1) -> None:
    """``--one-event --in-process``: the app's own cost per request, no server, no network (one core, this process).

    ``concurrency``: requests in flight at once (as a server's connections deliver them), so the
    Redis script calls of one loop turn share a pipeline (origin/redis_scripts.py).
    """
    from ops.commands.migrate import migrate_all
    from origin.app import create_app
    from origin.services import open_services
    from origin.settings import Settings
    from origin.tenancy.actions import do_create_tenant
    from origin.web.storefront.beacon import beacon_batcher
    from origin.web.storefront.site import app_resolver

    settings = Settings.from_env(env_file=None)
    await migrate_all(settings, echo=lambda line: None)
    body = b'{"name":"page_view","url":"https://%s/products/p1","referrer":"https://www.google.com/"}' % HOST.encode()
    async with open_services(settings, with_analytics=False) as services:
        await do_create_tenant(services, slug="bench", name="Bench", currency="USD")
        app = create_app(settings, services=services)
        await app_resolver(app).resolve(HOST)
        batcher = beacon_batcher(app)
        batcher.start()
        seq = 0

        async def one() -> int:
            nonlocal seq
            seq += 1
            headers = [(b"host", HOST.encode()), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                       (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"),
                       (b"x-forwarded-for", f"198.{seq % 250}.{seq // 250 % 250}.{seq // 62500 % 250 + 1}".encode())]
            scope = {"type": "http", "http_version": "1.1", "asgi": {"spec_version": "2.1"}, "method": "POST", "scheme": "http",
                     "path": "/events", "raw_path": b"/events", "query_string": b"", "root_path": "", "headers": headers,
                     "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "extensions": {}}
            status = 0
            messages = [{"type": "http.request", "body": body, "more_body": False}]

            async def receive():
                return messages.pop() if messages else {"type": "http.disconnect"}

            async def send(message):
                nonlocal status
                status = message.get("status", status)

            await app.asgi_app(scope, receive, send)
            return status

        rounds, cpu = [], []
        # BENCH_PROFILE=1: cProfile of the last round to stderr (sorted by BENCH_PROFILE_SORT, default tottime).
        profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
        for round_number in range(4):
            started, started_cpu = time.perf_counter(), time.process_time()
            statuses = []
            if profile is not None and round_number == 3:
                profile.enable()
            for _ in range(0, requests, concurrency):
                statuses += await asyncio.gather(*(one() for _ in range(concurrency)))
            if profile is not None and round_number == 3:
                profile.disable()
                pstats.Stats(profile, stream=sys.stderr).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(45)
            rounds.append((time.perf_counter() - started) / len(statuses))
            cpu.append((time.process_time() - started_cpu) / len(statuses))  # this process's CPU: robust to a busy machine
            assert set(statuses) == {202}, set(statuses)
        await batcher.stop()
        timings = sorted(rounds[1:])  # the first round warms caches and the salt
        cpu_times = sorted(cpu[1:])
        print(f"in-process, one event per request through app.asgi_app (the beacon layer), {requests} requests x 3 rounds, "
              f"{concurrency} at a time, "
              f"{'redis' if settings.redis_url else 'embedded'}, load average {os.getloadavg()[0]:.2f}")
        print(f"  wall: median {statistics.median(timings) * 1e6:.1f} us/request (min {timings[0] * 1e6:.1f}), sequential")
        print(f"  CPU:  median {statistics.median(cpu_times) * 1e6:.1f} us/request (min {cpu_times[0] * 1e6:.1f}) "
              f"= {1 / statistics.median(cpu_times):,.0f} requests/s of app CPU on one core (Redis's own CPU not included)")


def _pinned(command: list[str], cpu: int | None) -> list[str]:
    import shutil

    return ["taskset", "-c", str(cpu), *command] if cpu is not None and shutil.which("taskset") else command


async def one_event(args, env: dict[str, str]) -> None:
    import re
    import shutil

    if shutil.which("wrk") is None:
        raise SystemExit("--one-event needs wrk on PATH")
    port = free_port()
    if args.server == "granian":
        command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", "1", "--runtime-mode", "st", "--loop", "uvloop", "--no-ws", "--log-level", "warning",
                   "bench.analytics_e2e:granian_app"]
    else:
        command = [sys.executable, __file__, "--serve-one-event", str(port)]
    server = await asyncio.create_subprocess_exec(
        *_pinned(command, args.server_cpu), cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    lines: list[str] = []
    ready = asyncio.Event()
    reader = asyncio.create_task(read_lines(server.stdout, lines, ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=90)
        for _ in range(200):
            try:
                _, probe = await asyncio.open_connection("127.0.0.1", port)
                probe.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % {"host": HOST})
        load = os.getloadavg()
        wrk = await asyncio.create_subprocess_exec(
            *_pinned(["wrk", "-t1", f"-c{args.connections}", f"-d{int(args.seconds)}s", "--latency", "-s", script.name,
                      f"http://127.0.0.1:{port}/"], args.wrk_cpu),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        report = (await wrk.communicate())[0].decode()
        load_after = os.getloadavg()
        os.unlink(script.name)
    finally:
        server.send_signal(signal.SIGTERM)
        await asyncio.wait_for(server.wait(), timeout=90)
        await reader
    total = re.search(r"(\d+) requests in", report)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    requests = int(total.group(1)) if total else 0
    refused = int(non_2xx.group(1)) if non_2xx else 0
    final = next((line for line in lines if line.startswith("FINAL")), "FINAL ?").split()[1]
    print(f"one event per request: {args.server} on CPU {args.server_cpu}, wrk -t1 -c{args.connections} on CPU {args.wrk_cpu}, "
          f"{'redis queue' if args.redis else 'in-process queue'}, load average {load[0]:.2f} before / {load_after[0]:.2f} after")
    print("\n".join("  " + line for line in report.strip().splitlines() if line.strip()))
    # wrk stops counting at the deadline with up to one request per connection still in flight; the
    # server answers (and keeps) those too, so rows may exceed wrk's count by at most --connections.
    answered = requests - refused
    print(f"  202 answers counted by wrk: {answered:,}   rows in chDB (FINAL): {final}   (in flight at the end: at most {args.connections})")
    if not final.isdigit() or not answered <= int(final) <= answered + args.connections:
        print("  server output tail:\n    " + "\n    ".join(lines[-15:]))


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
        else:  # purchases come from the server only (issue 13): the beacon's last step is checkout_started
            events.append({"name": "checkout_started", "url": f"https://{HOST}/checkout",
                           "props": {"value": "19.99", "currency": "USD"}})
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
    parser.add_argument("--one-event", action="store_true", help="one page_view per POST, driven by wrk (see above)")
    parser.add_argument("--server", choices=("hypercorn", "granian"), default="hypercorn")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--wrk-cpu", type=int, default=1)
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-one-event", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--in-process", action="store_true", help="with --one-event: the app's cost per request, no server")
    parser.add_argument("--requests", type=int, default=5000, help="with --in-process: requests per round")
    parser.add_argument("--concurrency", type=int, default=1, help="with --in-process: requests in flight at once")
    parser.add_argument("--in-process-child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        await serve(args.serve)
        return
    if args.serve_one_event:
        await serve_one_event(args.serve_one_event)
        return
    if args.in_process_child:
        await in_process(args.in_process_child, args.concurrency)
        return
    if args.seconds > 60:
        parser.error("keep it to a minute at most (shared machine)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="zelly-bench-e2e-") as data_dir:
        env = {**os.environ, "ZELLY_DATA_DIR": data_dir, "ZELLY_TRUSTED_PROXIES": "127.0.0.1", "ZELLY_LOG_LEVEL": "WARNING",
               "ZELLY_SECRET_KEY": "bench-secret-key-0123456789abcdef-0123456789", "ZELLY_PLATFORM_DOMAIN": "localhost",
               # The bench's one store takes every batch: lift its per-store beacon budget (still charged).
               "ZELLY_RATE_LIMIT_EVENTS_TENANT": "1000000000/60", "ZELLY_RATE_LIMIT_EVENTS_IP": "1000000000/60",
               "PYTHONPATH": str(ROOT)}
        if args.redis:
            env["ZELLY_REDIS_URL"] = args.redis
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(args.redis)
            await client.delete("store-events")  # the bench's private db index: start from an empty stream
            await client.aclose()
        if args.one_event and args.in_process:
            server = await asyncio.create_subprocess_exec(
                *_pinned([sys.executable, __file__, "--in-process-child", str(args.requests), "--concurrency", str(args.concurrency)],
                         args.server_cpu), cwd=ROOT, env=env)
            await server.wait()
            return
        if args.one_event:
            await one_event(args, env)
            return
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

"""Edge cache-hit throughput: each ASGI server on one core, wrk on the other.

    python bench/edge_hit.py [--seconds 5] [--connections 32] [--servers uvicorn,granian,hypercorn]
    python bench/edge_hit.py --in-process      # the edge's own cost per hit, no server, no socket

Serves bench/edge_app.py (the edge wrapping a 12 KB page) with each server in
a subprocess pinned to CPU 0 (``taskset``), fills the cache with one request,
then runs ``wrk -t1 -c32`` pinned to CPU 1 against the cached page. Prints one
line per server: requests/s, p50, p99, and the share of responses that were hits.
Loopback only; every server process is stopped before the next starts.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(name: str, port: int) -> list[str]:
    if name == "uvicorn":
        return [PYTHON, "-m", "uvicorn", "bench.edge_app:app", "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]
    if name == "granian":
        return [PYTHON, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                "--workers", "1", "--runtime-mode", "st", "--loop", "uvloop", "--no-ws", "--log-level", "warning", "bench.edge_app:app"]
    if name == "hypercorn":
        return [PYTHON, "-m", "hypercorn", "bench.edge_app:app", "--bind", f"127.0.0.1:{port}", "--worker-class", "uvloop",
                "--log-level", "warning"]
    raise SystemExit(f"unknown server {name}")


def pinned(command: list[str], cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else command


def wait_and_fill(port: int) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/products/hat", headers={"Host": "shop-a.test"})
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                response.read()
            with urllib.request.urlopen(request, timeout=2) as response:
                response.read()
                return response.headers["Cache-Status"]
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def parse_wrk(output: str) -> dict[str, float]:
    def latency_ms(text: str) -> float:
        match = re.match(r"([\d.]+)(us|ms|s|m)", text)
        if match is None:
            raise SystemExit(f"cannot read wrk's latency {text!r} in:\n{output}")
        value, unit = match.groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": latency_ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99_ms": latency_ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": sum(int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|Socket errors:.*?timeout)\s*:?\s*(\d+)", output)),
    }


def run(server: str, seconds: int, connections: int) -> dict:
    port = free_port()
    process = subprocess.Popen(pinned(server_command(server, port), 0), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        cache_status = wait_and_fill(port)
        output = subprocess.run(
            pinned(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", "Host: shop-a.test",
                    f"http://127.0.0.1:{port}/products/hat"], 1),
            capture_output=True, text=True, check=True, timeout=seconds + 30,
        ).stdout
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {"server": server, "cache_status": cache_status, **parse_wrk(output)}


def in_process(hits: int = 50_000) -> None:
    import asyncio

    sys.path.insert(0, str(ROOT))
    from bench.edge_app import app

    scope = {"type": "http", "method": "GET", "path": "/products/hat", "raw_path": b"/products/hat", "query_string": b"",
             "headers": [(b"host", b"shop-a.test"), (b"user-agent", b"wrk"), (b"accept", b"*/*"), (b"accept-encoding", b"gzip, br")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80), "scheme": "http", "http_version": "1.1", "asgi": {"version": "3.0"}}

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        pass

    async def run() -> None:
        await app.startup()
        await app(scope, receive, send)  # fill
        started = time.perf_counter()
        for _ in range(hits):
            await app(scope, receive, send)
        elapsed = time.perf_counter() - started
        await app.shutdown()
        print(f"in-process: {hits / elapsed:,.0f} hits/s, {elapsed / hits * 1e6:.1f} us per hit")

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default="uvicorn,granian,hypercorn")
    parser.add_argument("--in-process", action="store_true", help="time the edge's hit path alone")
    args = parser.parse_args()
    if args.in_process:
        in_process()
        return
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    print(f"edge hit, {args.connections} connections, {args.seconds}s each, server on 1 core (CPU 0), wrk on CPU 1")
    for server in args.servers.split(","):
        result = run(server, args.seconds, args.connections)
        print(f"{result['server']:<10} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:.2f} ms   p99 {result['p99_ms']:.2f} ms"
              f"   non-2xx/timeouts {result['errors']}   ({result['cache_status']})", flush=True)


if __name__ == "__main__":
    main()

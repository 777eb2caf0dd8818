"""Stampede: N concurrent misses on one key through the edge -> how many origin requests.

    python bench/edge_stampede.py [--clients 500] [--origin-delay 0.2] [--rounds 3]

A stand-in origin (hypercorn on loopback, ``--origin-delay`` seconds per page,
like a render) and the edge (hypercorn on loopback) run in this process; 500
HTTP clients (one connection each) ask for the same uncached page at once.
Each round uses a fresh URL. Prints origin requests per round and the
clients' latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from edge.app import create_edge_app  # noqa: E402
from edge.config import EdgeConfig  # noqa: E402
from tests.edge.servers import serve_on_loopback  # noqa: E402
from tests.edge.standin_origin import StandInOrigin  # noqa: E402


async def one_round(client: httpx.AsyncClient, path: str, clients: int) -> tuple[list[float], set[str]]:
    async def timed() -> tuple[float, str]:
        started = time.perf_counter()
        response = await client.get(path, headers={"host": "shop-a.test"})
        response.raise_for_status()
        return time.perf_counter() - started, response.text

    results = await asyncio.gather(*(timed() for _ in range(clients)))
    return [elapsed for elapsed, _ in results], {text for _, text in results}


async def main(clients: int, origin_delay: float, rounds: int) -> None:
    origin = StandInOrigin()
    async with serve_on_loopback(origin) as origin_url:
        edge = create_edge_app(EdgeConfig(single_flight_wait=10.0), origin_url)
        async with serve_on_loopback(edge) as edge_url:
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(base_url=edge_url, limits=limits, timeout=30) as client:
                print(f"edge stampede: {clients} concurrent clients, one key, origin renders in {origin_delay * 1000:.0f} ms")
                for round_number in range(1, rounds + 1):
                    path = f"/products/stampede-{round_number}"
                    origin.set(path, delay=origin_delay)
                    before = origin.total()
                    latencies, bodies = await one_round(client, path, clients)
                    latencies.sort()
                    print(f"round {round_number}: origin requests {origin.total() - before}, distinct bodies {len(bodies)}, "
                          f"client p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms, "
                          f"max {latencies[-1] * 1000:.0f} ms", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--origin-delay", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.origin_delay, args.rounds))

"""Stampede: N concurrent misses on one key through the edge -> how many origin requests.

    python bench/edge_stampede.py [--clients 500] [--origin-delay 0.2] [--rounds 3]

A stand-in origin (hypercorn on loopback in this process, ``--origin-delay``
seconds per page, like a render) behind ``zelly edge`` (its own process,
granian); 500 HTTP clients (one connection each, opened before the round)
ask for the same uncached page at once. Each round uses a fresh URL. Prints
origin requests per round and the clients' latency.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from bench.edge_processes import zelly_edge  # noqa: E402
from tests.edge.servers import serve_on_loopback  # noqa: E402
from tests.edge.standin_origin import StandInOrigin  # noqa: E402


class Connection:
    """One keep-alive HTTP/1.1 connection, as light as a client can be (httpx would be the bottleneck)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, path: str, host: str) -> tuple[int, bytes]:
        self.writer.write(f"GET {path} HTTP/1.1\r\nhost: {host}\r\naccept-encoding: gzip\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        return int(lines[0].split()[1]), await self.reader.readexactly(length)


async def one_round(connections: list[Connection], path: str) -> tuple[list[float], set[bytes]]:
    async def timed(connection: Connection) -> tuple[float, bytes]:
        started = time.perf_counter()
        status, body = await connection.get(path, "shop-a.test")
        assert status == 200, status
        return time.perf_counter() - started, body

    results = await asyncio.gather(*(timed(c) for c in connections))
    return [elapsed for elapsed, _ in results], {body for _, body in results}


async def main(clients: int, origin_delay: float, rounds: int) -> None:
    origin = StandInOrigin()
    async with serve_on_loopback(origin) as origin_url:
        with tempfile.TemporaryDirectory() as data_dir:
            async with zelly_edge(origin_url, data_dir) as edge_url:
                host, port = urlsplit(edge_url).hostname, urlsplit(edge_url).port
                # Open every connection first, so a round measures the stampede, not 500 TCP handshakes.
                connections = [Connection(*await asyncio.open_connection(host, port)) for _ in range(clients)]
                print(f"edge stampede: {clients} concurrent clients, one key, origin renders in {origin_delay * 1000:.0f} ms")
                for round_number in range(1, rounds + 1):
                    path = f"/products/stampede-{round_number}"
                    origin.set(path, delay=origin_delay)
                    before = origin.total()
                    latencies, bodies = await one_round(connections, path)
                    latencies.sort()
                    print(f"round {round_number}: origin requests {origin.total() - before}, distinct bodies {len(bodies)}, "
                          f"client p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms, "
                          f"max {latencies[-1] * 1000:.0f} ms", flush=True)
                for connection in connections:
                    connection.writer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--origin-delay", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.clients, args.origin_delay, args.rounds))

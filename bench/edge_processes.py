"""``zelly edge`` as a subprocess for the benchmarks: start on a free loopback port, stop with SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from pathlib import Path
from typing import AsyncIterator

import httpx

ROOT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def zelly_edge(upstream_url: str, data_dir: str, **variables: str) -> AsyncIterator[str]:
    """Yields the edge's base URL; its stderr goes to ``data_dir/edge.log``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {"PATH": os.environ.get("PATH", ""), "ZELLY_EDGE_BIND": f"127.0.0.1:{port}", "ZELLY_EDGE_UPSTREAM": upstream_url,
                   "ZELLY_DATA_DIR": data_dir, "ZELLY_LOG_LEVEL": "WARNING", **variables}
    log_path = Path(data_dir) / "edge.log"
    with open(log_path, "w") as log_file:
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", "ops.cli", "edge", cwd=ROOT, env=environment,
                                                       stdout=asyncio.subprocess.DEVNULL, stderr=log_file)
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(200):
                    try:
                        await client.get(f"{url}/internal/edge/stats")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            await process.wait()
    problems = [line for line in log_path.read_text().splitlines() if "WARNING" in line or "ERROR" in line]
    if problems:
        print("edge log:\n  " + "\n  ".join(problems[:10]), flush=True)

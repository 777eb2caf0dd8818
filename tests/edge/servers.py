"""Serving ASGI apps on loopback for the edge tests: hypercorn on a port-0 socket."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import AsyncIterator

from hypercorn.asyncio import serve
from hypercorn.config import Config


@contextlib.asynccontextmanager
async def serve_on_loopback(app) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan included) on 127.0.0.1:<free port>; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn owns (and closes) the duplicate
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 1.0
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        await _wait_until_listening(port, task)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        sock.close()


async def _wait_until_listening(port: int, task: asyncio.Task) -> None:
    for _ in range(200):
        if task.done():
            task.result()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.02)  # lifespan start-up completes before the first request is handled
        return
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


async def answer_lifespan(receive, send) -> None:
    """For stand-in apps with nothing to start: acknowledge start-up and shutdown."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return

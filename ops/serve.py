"""Serving ASGI apps with hypercorn inside one event loop, with a clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any, Awaitable, Callable, Iterable

from hypercorn.asyncio import serve
from hypercorn.config import Config


def hypercorn_config(bind: str, *, access_log: bool = False) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = "-" if access_log else None
    # A Logger, not "-": hypercorn then adds no handler of its own, and its lines go
    # through the process's logging configuration once instead of twice.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 5.0
    config.keep_alive_timeout = 75.0  # above typical proxy idle timeouts (Caddy's is 2 min upstream idle)
    return config


def shutdown_event() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, event.set)
    return event


async def serve_all(
    apps: Iterable[tuple[Any, str]],
    stop: asyncio.Event,
    *,
    background: Iterable[Callable[[asyncio.Event], Awaitable[None]]] = (),
) -> None:
    """Serve each (app, bind) and run each background job until ``stop`` is set."""
    tasks = [asyncio.create_task(serve(app, hypercorn_config(bind), shutdown_trigger=stop.wait)) for app, bind in apps]
    tasks += [asyncio.create_task(job(stop)) for job in background]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    finally:
        stop.set()
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

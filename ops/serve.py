"""Serving ASGI apps inside one event loop, with a bounded shutdown on SIGINT/SIGTERM.

Each listener runs under hypercorn or, where it carries the storefront's traffic
in `zelly dev`, under granian's embedded server (:func:`serve_granian`): the
same event loop, the same app objects and services, but HTTP parsed in Rust
(issue 14, item 4; docs/decisions.md says why both stay).

Shutdown is bounded whatever is down (issue 12, item 10). A SIGTERM sets the
stop event; hypercorn drains for :data:`GRACEFUL_TIMEOUT_S`, every close after
it is bounded on its own (origin.services.close_bounded names what it could
not close), and a watchdog thread armed by the signal ends the process with
exit code 0 once :data:`DRAIN_BOUND_S` has passed, naming the tasks still
pending. The watchdog is a thread so that it fires even while the event loop
is stuck (a Redis or MySQL call that never answers, a render holding it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable

from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server
from hypercorn.asyncio import serve
from hypercorn.config import Config

from ops.ports import ListenError, check_port_free
from origin.settings import parse_bind

log = logging.getLogger(__name__)

GRACEFUL_TIMEOUT_S = 3.0  # in-flight requests finish within this after the signal
DRAIN_BOUND_S = 8.0  # the whole shutdown: after this the watchdog exits the process
TASK_CANCEL_TIMEOUT_S = 1.0


def hypercorn_config(bind: str, *, access_log: bool = False) -> Config:
    config = Config()
    config.bind = [bind]
    config.accesslog = "-" if access_log else None
    # A Logger, not "-": hypercorn then adds no handler of its own, and its lines go
    # through the process's logging configuration once instead of twice.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    config.keep_alive_timeout = 75.0  # above typical proxy idle timeouts (Caddy's is 2 min upstream idle)
    return config


def shutdown_event(*, drain_bound_s: float = DRAIN_BOUND_S) -> asyncio.Event:
    """An event set by SIGINT or SIGTERM, which also arms the shutdown watchdog."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if not event.is_set():
            log.info("shutdown: %s received, stopping within %.0fs", signal.Signals(signum).name, drain_bound_s)
            arm_watchdog(loop, drain_bound_s)
        event.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return event


def arm_watchdog(loop: asyncio.AbstractEventLoop, bound_s: float) -> threading.Timer:
    def give_up() -> None:
        pending = sorted({_task_label(task) for task in asyncio.all_tasks(loop) if not task.done()})
        log.error("shutdown: not done after %.0fs; exiting, leaving behind: %s", bound_s, ", ".join(pending) or "nothing")
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stdout.flush()
        os._exit(0)  # a stop that was asked for: the orchestrator must not read it as a crash

    timer = threading.Timer(bound_s, give_up)
    timer.daemon = True
    timer.start()
    return timer


def _task_label(task: asyncio.Task) -> str:
    """What the task is waiting in, e.g. ``_run (redis/asyncio/client.py)``: enough to name the store that hangs."""
    coroutine = task.get_coro()
    name = getattr(coroutine, "__qualname__", None) or task.get_name()
    frame = getattr(coroutine, "cr_frame", None)
    while frame is not None and getattr(coroutine, "cr_await", None) is not None and hasattr(coroutine.cr_await, "cr_frame"):
        coroutine = coroutine.cr_await
        frame = coroutine.cr_frame or frame
    where = "/".join(Path(frame.f_code.co_filename).parts[-3:]) if frame is not None else ""
    return f"{name} ({where})" if where else name


def check_can_listen(bind: str, variable: str = "bind") -> None:
    """Bind and release ``bind`` now, so a taken port is one line (the variable, the holder) before anything starts."""
    host, port = parse_bind(bind, variable)
    check_port_free(variable, host, port, shown=bind)


# granian configures logging with dictConfig when a server is built; non-incremental, that
# would close the handlers the CLI set up. Incremental, it only sets its logger's level,
# and its lines (no handler of its own, propagating) go through the process's logging once.
GRANIAN_LOGGING: dict[str, Any] = {"incremental": True, "formatters": {}, "handlers": {}, "loggers": {"granian.access": {}}}


async def serve_granian(app: Any, bind: str, stop: asyncio.Event) -> None:
    """Serve ``app`` on ``bind`` with granian's embedded server in this event loop until ``stop`` is set.

    One Rust I/O thread parses HTTP and hands each request to this loop (the
    lifespan runs here too, as under hypercorn). On ``stop`` this asks for
    granian's own graceful stop and waits for it (its worker, then the app's
    lifespan shutdown); the watchdog above bounds that like every other close.
    """
    host, port = parse_bind(bind)
    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, http=HTTPModes.http1, websockets=False,
        log_level=LogLevels.error,  # its "embedded server is experimental" and start/stop lines are noise here
        log_dictconfig=GRANIAN_LOGGING,
    )
    serving = asyncio.create_task(server.serve(), name=f"granian {bind}")
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait([serving, stopping], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if serving.done():
        serving.result()  # an exception from start-up, else:
        raise RuntimeError(f"the listener on {bind} stopped on its own (granian's worker exited; see the log above)")
    server.stop()
    await serving


async def serve_all(
    apps: Iterable[tuple[Any, str] | tuple[Any, str, str]],
    stop: asyncio.Event,
    *,
    background: Iterable[Callable[[asyncio.Event], Awaitable[None]]] = (),
) -> None:
    """Serve each (app, bind[, server]) and run each background job until ``stop`` is set.

    ``server`` is "hypercorn" (the default) or "granian" (:func:`serve_granian`).
    """
    listeners = [(entry[0], entry[1], entry[2] if len(entry) > 2 else "hypercorn") for entry in apps]
    for _, bind, _ in listeners:
        check_can_listen(bind)
    tasks = [
        asyncio.create_task(
            serve_granian(app, bind, stop) if server == "granian" else serve(app, hypercorn_config(bind), shutdown_trigger=stop.wait),
            name=f"listener {bind}",
        )
        for app, bind, server in listeners
    ]
    tasks += [asyncio.create_task(job(stop), name=getattr(job, "__qualname__", "background job")) for job in background]
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
        # A job stuck in a call that ignores cancellation must not hold the rest of the shutdown.
        _, stuck = await asyncio.wait(tasks, timeout=TASK_CANCEL_TIMEOUT_S)
        for task in stuck:
            log.warning("shutdown: %s did not stop within %.1fs; left behind", task.get_name(), TASK_CANCEL_TIMEOUT_S)

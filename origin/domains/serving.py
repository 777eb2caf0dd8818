"""The process's TLS allow-list: built from the database, refreshed by pub/sub and a timer.

One :class:`tls.ask.AllowList` per process, attached as
``Services.allow_list_runner`` (read it as ``services.allow_list``). The
internal app (ask hook) and the public app (the removed-domain guard) both
acquire it at start-up and release it at shutdown; the first acquire loads it
and starts the refresher, the last release stops it. Domain actions in this
process call it directly (origin/domains/actions.py: a removal is denied at
once, an activation reloads it). Removed domains (the guard's 410) are read
from ``removed_domains`` on every refresh too, so a removal made by the CLI
or another process, or before a restart, is a 410 here as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import AsyncIterator

from origin.broadcast import follow
from origin.db import utcnow
from origin.domains.queries import select_removed_hostnames, select_servable_hostnames
from origin.invalidation import TENANCY_CHANNEL
from origin.services import AllowListRunner, Services
from tls.ask import AllowList

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0


def make_allow_list(services: Services, *, refresh_interval: float = REFRESH_SECONDS) -> AllowList:
    async def load() -> set[str]:
        async with services.db.connect() as conn:
            return await select_servable_hostnames(conn, services.settings.platform_domain)

    async def load_removed() -> list[str]:
        async with services.db.connect() as conn:
            return await select_removed_hostnames(conn, utcnow())

    return AllowList(load, removed_loader=load_removed, refresh_interval=refresh_interval)


def current_allow_list(services: Services) -> AllowList | None:
    return services.allow_list


async def acquire_allow_list(services: Services) -> AllowList:
    """Load the allow-list (once per process) and keep it fresh until the last release."""
    runner = services.allow_list_runner
    if runner is None:
        # Attached before the first await: the public and internal apps start concurrently.
        allow_list = make_allow_list(services)
        loaded = asyncio.ensure_future(allow_list.refresh())  # serve from a loaded set from the first request on
        runner = AllowListRunner(allow_list=allow_list, loaded=loaded)
        services.attach(allow_list_runner=runner)
        runner.task = asyncio.create_task(_run(services, allow_list), name="tls-allow-list")
    runner.users += 1
    await asyncio.shield(runner.loaded)
    return runner.allow_list


async def release_allow_list(services: Services) -> None:
    runner = services.allow_list_runner
    if runner is None:
        return
    runner.users -= 1
    if runner.users > 0:
        return
    assert runner.task is not None
    runner.task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner.task
    services.attach(allow_list_runner=None)


async def _run(services: Services, allow_list: AllowList) -> None:
    """The allow-list's timer, woken by TENANCY_CHANNEL messages; reloaded whenever the subscription is back.

    The subscription runs beside the timer through origin.broadcast.follow, so a
    broken one is resubscribed (with backoff) instead of leaving the timer alone
    (issue 12, item 3); messages missed meanwhile are covered by a reload.
    """
    wake: asyncio.Queue[str] = asyncio.Queue(maxsize=1)  # a burst collapses into one refresh

    def notify() -> None:
        with contextlib.suppress(asyncio.QueueFull):
            wake.put_nowait("")

    async def apply(message: str) -> None:
        # A removal made in another process is denied here at once, before the reload it also triggers.
        try:
            removed = json.loads(message).get("removed_hostname")
        except (ValueError, AttributeError):
            removed = None
        if isinstance(removed, str):
            allow_list.forget(removed)
        notify()

    async def reconnected() -> None:
        notify()

    async def notifications() -> AsyncIterator[str]:
        while True:
            yield await wake.get()

    follower = asyncio.create_task(
        follow(services.broadcast, TENANCY_CHANNEL, apply, on_reconnect=reconnected, name="TLS allow-list")
    )
    try:
        await allow_list.run(notifications())
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower

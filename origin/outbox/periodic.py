"""The outbox sweep as a background job, for processes whose task queue has no scheduler.

With Redis, ``taskiq scheduler workers.email_outbox:scheduler`` kicks the sweep
task every minute. The in-memory brokers of the embedded default have no
scheduler, so ``zelly dev`` and an embedded ``zelly origin`` run this instead:
the same :func:`origin.outbox.sending.send_due`, on a timer. A second sweeper
is harmless (rows are leased), merely wasted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable

from origin.outbox.sending import send_due
from origin.services import Services

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 30.0


def periodic_outbox_sweep(services: Services, interval: float = DEFAULT_INTERVAL_SECONDS) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def job(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                result = await send_due(services)
                if result.sent or result.retrying or result.dead:
                    log.info("outbox sweep: %d sent, %d retrying, %d dead", result.sent, result.retrying, result.dead)
            except Exception:  # one failed pass (database blip) must not end the job
                log.exception("outbox sweep failed; retrying in %.0f s", interval)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    return job

"""The periodic verifier as a background job: ``serve_all(..., background=[periodic_verifier(services)])``.

Each pass checks the pending domains whose next check is due (actions.verify_due_domains
holds the backoff schedule), and deletes the certificates of removed domains that Caddy's
admin API could not be reached for at removal (actions.delete_pending_certificates). One process should run it: two would only check a
domain twice, since each check is recorded in its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Awaitable, Callable

from origin.domains.actions import delete_pending_certificates, verify_due_domains
from origin.services import Services

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60.0


def periodic_verifier(services: Services, interval: float = DEFAULT_INTERVAL_SECONDS) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def job(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                checked = await verify_due_domains(services)
                if checked:
                    log.info("verified %d due domain(s): %s", len(checked), ", ".join(f"{d.hostname}={d.status}" for d in checked))
                deleted = await delete_pending_certificates(services)
                if deleted:
                    log.info("deleted the certificates of %d removed domain(s) Caddy had missed: %s", len(deleted), ", ".join(deleted))
            except Exception:  # one failed pass (database blip) must not end the job
                log.exception("periodic domain verification failed; retrying in %.0f s", interval)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    return job

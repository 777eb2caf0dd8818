"""The checkout's scheduled sweeps: expired stock holds and card orders never paid (issue 15).

Both are safe to run twice at once (two schedulers, or ``zelly dev`` beside a worker): a
hold is given back only by the one DELETE that removed it (origin/orders/inventory.py),
an unpaid order is voided only by the one conditional UPDATE that cancelled it
(origin/orders/unpaid.py). So a second sweeper is wasted work, never a second restock.

With Redis, ``taskiq scheduler workers.checkout_sweeps:scheduler`` kicks the sweep task
every minute (workers/checkout_tasks.py). The in-memory brokers of the embedded default
have no scheduler: ``zelly dev`` runs :func:`periodic_checkout_sweeps` instead, the same
:func:`run_checkout_sweeps` on a timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from origin.checkout.steps import do_release_expired_reservations
from origin.orders.unpaid import UnpaidSweep, do_expire_unpaid_orders
from origin.services import Services

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60.0


@dataclass(frozen=True)
class CheckoutSweep:
    released_reservations: int
    unpaid: UnpaidSweep

    def as_dict(self) -> dict[str, int]:
        return {
            "released_reservations": self.released_reservations,
            "voided": self.unpaid.voided, "paid": self.unpaid.paid, "kept": self.unpaid.kept,
        }


async def run_checkout_sweeps(services: Services) -> CheckoutSweep:
    released = await do_release_expired_reservations(services)
    unpaid = await do_expire_unpaid_orders(services)
    return CheckoutSweep(released, unpaid)


def periodic_checkout_sweeps(services: Services, interval: float = DEFAULT_INTERVAL_SECONDS) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def job(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                result = await run_checkout_sweeps(services)
                if any(result.as_dict().values()):
                    log.info("checkout sweep: %s", result.as_dict())
            except Exception:  # one failed pass (database blip, provider down) must not end the job
                log.exception("checkout sweep failed; retrying in %.0f s", interval)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    return job

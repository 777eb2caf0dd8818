"""What /metrics reads from the stores when it is scraped: queue depth and age, store-events lag, certificate expiry.

Read at scrape time, never on a request (observability.metrics). The queues
are the streams the origin kicks to and the store-events stream; the
certificates are the ones Caddy keeps under ``<data_dir>/caddy/certificates``
(``zelly dev``'s and the storefront task's storage), read with ``cryptography``
in a thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from cryptography import x509

from observability.metrics import Metrics
from origin.analytics.queue import GROUP as STORE_EVENTS_GROUP
from origin.analytics.queue import STREAM as STORE_EVENTS_STREAM
from origin.queueing import stream_backlog
from origin.services import Services

EXPIRING_SOON = dt.timedelta(days=14)


def register_probes(metrics: Metrics, services: Services) -> None:
    metrics.add_probe("queues", lambda m: queue_probe(m, services))
    metrics.add_probe("store_events", lambda m: store_events_probe(m, services))
    metrics.add_probe("certificates", lambda m: certificate_probe(m, Path(services.settings.data_dir) / "caddy" / "certificates"))


async def queue_probe(metrics: Metrics, services: Services) -> None:
    if services.task_queue is None or services.request_redis is None:
        return  # in-memory brokers: nothing waits in a stream
    for queue, backlog in (await services.task_queue.backlogs()).items():
        metrics.queue_depth.labels(queue).set(backlog.entries)
        metrics.queue_oldest_age.labels(queue).set(backlog.oldest_age_seconds)


async def store_events_probe(metrics: Metrics, services: Services) -> None:
    if services.request_redis is None:
        return
    backlog = await stream_backlog(services.request_redis, STORE_EVENTS_STREAM, STORE_EVENTS_GROUP)
    metrics.store_events_pending.set(backlog.entries)
    metrics.store_events_lag.set(backlog.oldest_age_seconds)


async def certificate_probe(metrics: Metrics, directory: Path) -> None:
    expiries = await asyncio.to_thread(_certificate_expiries, directory)
    if not expiries:
        return
    now = dt.datetime.now(dt.timezone.utc)
    metrics.certificate_expiry.set((min(expiries) - now).total_seconds())
    metrics.certificates_expiring.set(sum(1 for expiry in expiries if expiry - now < EXPIRING_SOON))


def _certificate_expiries(directory: Path) -> list[dt.datetime]:
    expiries = []
    for path in directory.glob("*/*/*.crt") if directory.is_dir() else ():
        try:
            expiries.append(x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc)
        except (OSError, ValueError):
            continue  # half-written or removed meanwhile: the next scrape reads it
    return expiries

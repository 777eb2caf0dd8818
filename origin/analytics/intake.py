"""From validated events to queued rows: visitor hash, session, device, source.

Sessions without cookies: a session is a visitor's run of events with no gap
of more than :data:`SESSION_IDLE_SECONDS`, kept in the cache (Redis on
servers) under a key that names the tenant. The session's source (external
referrer host and UTM tags of its first event) is stamped on every event of
the session, so "sources" count sessions, as Shopify and Plausible do.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Collection

from edge import cache_keys
from origin.analytics import privacy
from origin.analytics.events import IncomingEvent, beacon_event_id
from origin.analytics.privacy import Admission, Shopper
from origin.analytics.queue import queue_for
from origin.cache import JsonObject
from origin.services import DailySaltSource, Services

SESSION_IDLE_SECONDS = 30 * 60
# Ids for beacon events sent without one: a random per-process prefix and a counter, unique across
# processes and restarts without an os.urandom call per request (a visible share of a one-event request).
_PROCESS_ID = secrets.token_hex(8)
_REQUEST_COUNTER = itertools.count(1)
ANONYMOUS = 0


@dataclass(frozen=True)
class SessionInfo:
    visitor_id: int
    session_id: int
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    device: str


session_key = cache_keys.session_key
SESSION_CODEC = JsonObject(
    {"session_id": int, "referrer_host": str, "utm_source": str, "utm_medium": str, "utm_campaign": str}
)


def salts_for(services: Services) -> DailySaltSource:
    """The process's salts (Services.analytics_salts), attached on first use: the kernel imports no analytics."""
    if services.analytics_salts is None:
        services.attach(analytics_salts=privacy.DailySalts(services.cache))
    assert services.analytics_salts is not None
    return services.analytics_salts


async def resolve_session(services, tenant_id: int, shopper: Shopper, first: IncomingEvent | None, store_host: str) -> SessionInfo:
    now = dt.datetime.now(dt.timezone.utc)
    salt = await salts_for(services).for_day(now.date())
    visitor_id = privacy.visitor_id(salt, tenant_id, shopper.ip, shopper.user_agent)
    key = session_key(tenant_id, visitor_id)
    referrer = first.referrer_host if first is not None else ""
    fresh = {
        "session_id": secrets.randbits(63) or 1,
        "referrer_host": "" if referrer in ("", store_host, first.page_host if first else "") else referrer,
        "utm_source": first.utm_source if first else "",
        "utm_medium": first.utm_medium if first else "",
        "utm_campaign": first.utm_campaign if first else "",
    }
    # One round trip: the visitor's open session (its idle TTL slid: every event keeps it alive), or this
    # fresh one; two concurrent first requests agree on whichever was stored first.
    current = await services.cache.get_or_add(key, fresh, SESSION_CODEC, ttl=SESSION_IDLE_SECONDS)
    return SessionInfo(
        visitor_id=visitor_id,
        session_id=current["session_id"],
        referrer_host=current["referrer_host"],
        utm_source=current["utm_source"],
        utm_medium=current["utm_medium"],
        utm_campaign=current["utm_campaign"],
        device=privacy.device_class(shopper.user_agent),
    )


ANONYMOUS_SESSION = SessionInfo(ANONYMOUS, ANONYMOUS, "", "", "", "", "")


def build_row(tenant_id: int, event: IncomingEvent, session: SessionInfo, ts: float, fallback_id: str = "") -> dict[str, Any]:
    """A queue row; ``ts`` is Unix seconds with milliseconds (JSONEachRow reads it into DateTime64(3)).

    Empty and zero columns are left out: ClickHouse fills the column defaults, and the
    queue carries (and the intake encodes) a third less.
    """
    row: dict[str, Any] = {
        "tenant_id": tenant_id,
        "ts": round(ts, 3),
        "event_id": event.event_id or fallback_id or uuid.uuid4().hex,
        "name": event.name,
        "visitor_id": session.visitor_id,
        "session_id": session.session_id,
        "path": event.path,
    }
    optional = (
        ("referrer_host", session.referrer_host),
        ("utm_source", session.utm_source),
        ("utm_medium", session.utm_medium),
        ("utm_campaign", session.utm_campaign),
        ("device", session.device),
        ("product_id", event.product_id),
        ("variant_id", event.variant_id),
        ("quantity", event.quantity),
        ("value", str(event.value) if event.value else ""),
        ("currency", event.currency),
        ("order_id", event.order_id),
    )
    row.update((key, value) for key, value in optional if value)
    return row


RowSink = Callable[[list[dict[str, Any]]], Awaitable[None]]


async def accept_events(
    services, tenant_id: int, events: list[IncomingEvent], shopper: Shopper, store_host: str,
    *, store_hosts: Collection[str] = (), sink: RowSink | None = None,
) -> int:
    """Queue validated beacon events; return how many were kept (0 for bots and refusals).

    Each event passes :func:`privacy.admit`, the rule every source shares; beacon events are never money
    events (``events.SERVER_ONLY_EVENTS``), so a bot's or a DNT request's batch keeps nothing.
    ``store_hosts``: the hosts the store's pages are on (the request's host included); a page URL elsewhere
    is dropped. ``sink`` receives the rows (the web layer's in-process batch); default: the queue.
    """
    hosts = {store_host, *store_hosts}
    kept = [event for event in events if privacy.admit(event.name, shopper, event.page_host, hosts) is Admission.TRACKED]
    if not kept:
        return 0
    session = await resolve_session(services, tenant_id, shopper, kept[0], store_host)
    now = time.time()
    request_id = f"{_PROCESS_ID}{next(_REQUEST_COUNTER):x}"  # events without a client id are b:<request>-<index>
    rows = [build_row(tenant_id, event, session, now, beacon_event_id(f"{request_id}-{index}")) for index, event in enumerate(kept)]
    await (sink or queue_for(services).publish)(rows)
    return len(kept)

"""What may be stored, and for how long (RFC 9111, RFC 5861, RFC 9213).

A response is stored only when the origin opts in: ``CDN-Cache-Control``
(RFC 9213, targeted at caches like this one) or ``Cache-Control`` with
``public`` or ``s-maxage``. Never stored: ``private``, ``no-store`` or
``no-cache`` (in either header), ``Set-Cookie``, 206, ``Vary: *``, and Vary
on a header outside the allow-list. A 404/410 may be kept briefly without
an opt-in (the negative cache), never longer than ``negative_ttl`` and never
longer than its own freshness (``s-maxage``, ``max-age`` or ``Expires``).

``must-revalidate`` / ``proxy-revalidate`` turn off serving stale.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from edge.config import EdgeConfig

STORABLE_STATUSES = frozenset({200, 203, 204, 300, 301, 308, 404, 410})
NEGATIVE_STATUSES = frozenset({404, 410})


def parse_directives(value: str | None) -> dict[str, str | None] | None:
    if value is None:
        return None
    directives: dict[str, str | None] = {}
    for item in value.split(","):
        name, sep, argument = item.strip().partition("=")
        name = name.strip().lower()
        if name:
            directives[name] = argument.strip().strip('"') if sep else None
    return directives


def _seconds(directives: dict[str, str | None], name: str) -> int | None:
    value = directives.get(name)
    if value is None:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        return 0  # RFC 9111 4.2.1: an invalid freshness value means stale


@dataclass(frozen=True, slots=True)
class Freshness:
    ttl: int
    stale_while_revalidate: int
    stale_if_error: int
    vary: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    freshness: Freshness | None  # None: do not store
    reason: str  # why not, for Cache-Status detail


def decide(status: int, headers: dict[bytes, bytes], config: EdgeConfig) -> Decision:
    """``headers``: response headers, names lower-cased, repeated values joined by ', '."""
    if status == 206:
        return Decision(None, "partial")
    if status not in STORABLE_STATUSES:
        return Decision(None, "status")
    if b"set-cookie" in headers:
        return Decision(None, "set-cookie")
    cache_control = parse_directives(_text(headers.get(b"cache-control"))) or {}
    cdn = parse_directives(_text(headers.get(b"cdn-cache-control")))
    for directives in (cache_control, cdn or {}):
        for refusal in ("private", "no-store", "no-cache"):
            if refusal in directives:
                return Decision(None, refusal)
    vary = tuple(v.strip().lower() for v in _text(headers.get(b"vary") or b"").split(",") if v.strip())
    if "*" in vary:
        return Decision(None, "vary")
    if any(name not in config.vary_allowlist for name in vary):
        return Decision(None, "vary")

    targeted = cdn if cdn is not None else cache_control
    if cdn is not None:
        ttl = _seconds(cdn, "s-maxage")
        ttl = _seconds(cdn, "max-age") if ttl is None else ttl
    else:
        ttl = _seconds(cache_control, "s-maxage")
        if ttl is None and "public" in cache_control:
            ttl = _seconds(cache_control, "max-age")
    negative = status in NEGATIVE_STATUSES
    if ttl is None and (negative or "public" in cache_control) and cdn is None:
        # RFC 9111 4.2.1: max-age, then Expires. A stored error expires by its own
        # freshness (a 404 with max-age=1 is gone after a second), public or not.
        ttl = _seconds(cache_control, "max-age")
        if ttl is None:
            ttl = _expires_in(headers)
    if ttl is None:
        if not negative:
            return Decision(None, "not-public")
        ttl = config.negative_ttl  # no freshness of its own: the negative cache's heuristic
    if negative:
        ttl = min(ttl, config.negative_ttl)

    if "must-revalidate" in targeted or "proxy-revalidate" in targeted or negative:
        swr = sie = 0
    else:
        swr = _seconds(targeted, "stale-while-revalidate")
        sie = _seconds(targeted, "stale-if-error")
        if swr is None:
            swr = _seconds(cache_control, "stale-while-revalidate") or 0
        if sie is None:
            sie = _seconds(cache_control, "stale-if-error") or 0
    if ttl == 0 and swr == 0 and sie == 0:
        return Decision(None, "expired")
    return Decision(Freshness(ttl, swr, sie, vary), "")


def _expires_in(headers: dict[bytes, bytes]) -> int | None:
    """Seconds from ``Date`` (or now) to ``Expires``; an unreadable Expires means already stale (4.2.1)."""
    expires = headers.get(b"expires")
    if expires is None:
        return None
    try:
        expires_at = parsedate_to_datetime(expires.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return 0
    date_at = None
    if b"date" in headers:
        try:
            date_at = parsedate_to_datetime(headers[b"date"].decode("latin-1"))
        except (TypeError, ValueError, IndexError):
            date_at = None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    if date_at is None:
        date_at = dt.datetime.now(dt.timezone.utc)
    elif date_at.tzinfo is None:
        date_at = date_at.replace(tzinfo=dt.timezone.utc)
    return max(0, int((expires_at - date_at).total_seconds()))


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")

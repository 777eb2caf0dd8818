"""The date range, time zone and bucket of an analytics question, validated.

Dates are the merchant's calendar days in their IANA time zone, both ends
inclusive; they become a half-open UTC interval ``[start_at, end_at)`` for the
query, so the primary index on ``(tenant_id, toDate(ts))`` still prunes.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from origin.analytics.errors import AnalyticsError, AnalyticsErrorCode
from origin.numbers import parse_bounded_int

INTERVALS = ("day", "hour")
MAX_DAYS = 366
MAX_HOURLY_DAYS = 31
DEFAULT_DAYS = 7
MAX_LIMIT = 100


@dataclass(frozen=True)
class Range:
    start: dt.date
    end: dt.date  # inclusive
    time_zone: str
    interval: str = "day"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), self.zone).astimezone(dt.timezone.utc)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), self.zone).astimezone(dt.timezone.utc)

    def buckets(self) -> list[dt.datetime]:
        """Every bucket start in the zone, so days without events show as zeros."""
        if self.interval == "day":
            return [
                dt.datetime.combine(self.start + dt.timedelta(days=n), dt.time(), self.zone)
                for n in range((self.end - self.start).days + 1)
            ]
        hours = int((self.end_at - self.start_at).total_seconds() // 3600)
        return [(self.start_at + dt.timedelta(hours=n)).astimezone(self.zone) for n in range(hours)]


@functools.cache
def known_time_zones() -> frozenset[str]:
    """Every IANA zone name this machine's tz database has (read once: it walks the database)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def parse_range(
    start: str | None, end: str | None, time_zone: str | None, interval: str | None, *, today: dt.date | None = None
) -> Range:
    zone_name = time_zone or "UTC"
    # Checked against the list of zone names first: ZoneInfo("America") opens a directory
    # (IsADirectoryError, a 500 before issue 13) and a path-like key reaches the file system.
    if zone_name not in known_time_zones():
        raise AnalyticsError(
            AnalyticsErrorCode.INVALID_TIME_ZONE, f"{zone_name[:64]!r} is not an IANA time zone such as Europe/Berlin", field="tz"
        )
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise AnalyticsError(
            AnalyticsErrorCode.INVALID_TIME_ZONE, f"{zone_name[:64]!r} is not an IANA time zone such as Europe/Berlin", field="tz"
        ) from None
    interval = interval or "day"
    if interval not in INTERVALS:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_INTERVAL, "interval is 'day' or 'hour'", field="interval")
    today = today or dt.datetime.now(zone).date()
    end_date = _parse_date(end, "to") if end else today
    start_date = _parse_date(start, "from") if start else end_date - dt.timedelta(days=DEFAULT_DAYS - 1)
    if start_date > end_date:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_RANGE, "'from' is after 'to'", field="from")
    days = (end_date - start_date).days + 1
    if days > MAX_DAYS:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_RANGE, f"a range covers at most {MAX_DAYS} days, this one {days}", field="from")
    if interval == "hour" and days > MAX_HOURLY_DAYS:
        raise AnalyticsError(
            AnalyticsErrorCode.INVALID_RANGE, f"hourly buckets cover at most {MAX_HOURLY_DAYS} days; use interval=day", field="interval"
        )
    return Range(start=start_date, end=end_date, time_zone=zone_name, interval=interval)


def parse_limit(raw: str | None, default: int = 10) -> int:
    if raw is None or raw == "":
        return default
    limit = parse_bounded_int(raw, low=1, high=MAX_LIMIT)
    if limit is None:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_LIMIT, f"limit is a whole number from 1 to {MAX_LIMIT}", field="limit")
    return limit


def _parse_date(raw: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise AnalyticsError(AnalyticsErrorCode.INVALID_RANGE, f"{field} is a date like 2026-11-25, got {raw[:32]!r}", field=field) from None

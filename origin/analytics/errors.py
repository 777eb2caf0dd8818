"""Analytics errors.

    ZellyError
    └── AnalyticsError            code from AnalyticsErrorCode
        ├── bad events (422) and too large a batch or body (413, raised by the web layer)
        └── bad query ranges, time zones, intervals (422)
"""

from __future__ import annotations

import enum

from origin.errors import ErrorKind, ZellyError


class AnalyticsErrorCode(enum.Enum):
    INVALID_JSON = "invalid_json"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_EVENT = "unknown_event"
    SERVER_ONLY_EVENT = "server_only_event"
    TOO_MANY_EVENTS = "too_many_events"
    BODY_TOO_LARGE = "body_too_large"
    EMPTY_BATCH = "empty_batch"
    INVALID_RANGE = "invalid_range"
    INVALID_TIME_ZONE = "invalid_time_zone"
    INVALID_INTERVAL = "invalid_interval"
    INVALID_LIMIT = "invalid_limit"
    UNKNOWN_STORE = "unknown_store"
    INTAKE_BUSY = "intake_busy"
    INVALID_LINK = "invalid_link"
    ANALYTICS_UNAVAILABLE = "analytics_unavailable"


class AnalyticsError(ZellyError):
    kind = ErrorKind.INVALID
    codes = (AnalyticsErrorCode,)

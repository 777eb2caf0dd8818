"""Shopify records as plain frozen data, and the GID helpers.

Shopify ids exceed 2**53, so they are never numbers here: a GID is a string
(``gid://shopify/Product/<digits>``) and a webhook's numeric ``id`` is parsed by
Python's json (arbitrary-precision int) and turned straight into that string.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from origin.numbers import parse_bounded_int

CONNECTED = "connected"
DISCONNECTED = "disconnected"

SYNC_FULL = "full"
SYNC_INCREMENTAL = "incremental"
SYNC_BULK = "bulk"
SYNC_KINDS = (SYNC_FULL, SYNC_INCREMENTAL, SYNC_BULK)

RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_CANCELLED = "cancelled"
RUN_ACTIVE_STATES = (RUN_QUEUED, RUN_RUNNING)
RUN_FINISHED_STATES = (RUN_SUCCEEDED, RUN_FAILED, RUN_CANCELLED)

SETTINGS_PUSH = "push"
SETTINGS_FETCH = "fetch"

_GID = re.compile(r"^gid://shopify/([A-Za-z]+)/([0-9]{1,30})$", re.ASCII)
_GID_MAX = 10**30 - 1  # what _GID reads back


def gid(kind: str, numeric_id: int | str) -> str:
    # ASCII digits only (isdigit() let '²' and '٣' into a GID), and no bool (True is an int).
    value = None if isinstance(numeric_id, float) else parse_bounded_int(numeric_id, high=_GID_MAX)
    if value is None:
        raise ValueError(f"a Shopify id must be an integer, got {numeric_id!r}")
    return f"gid://shopify/{kind}/{value}"


def gid_kind(value: str) -> str | None:
    match = _GID.match(value or "")
    return match.group(1) if match else None


def payload_gid(kind: str, payload: dict) -> str:
    """The GID of a webhook payload object: admin_graphql_api_id, or built from its numeric id."""
    value = payload.get("admin_graphql_api_id")
    if isinstance(value, str) and gid_kind(value) == kind:
        return value
    return gid(kind, payload["id"])


@dataclass(frozen=True)
class Connection:
    tenant_id: int
    shop_domain: str
    access_token: str
    webhook_secret: str
    status: str
    connected_at: dt.datetime
    disconnected_at: dt.datetime | None
    last_synced_at: dt.datetime | None

    @property
    def is_connected(self) -> bool:
        return self.status == CONNECTED

    def public(self) -> dict:
        """What the seller API shows: never the token or the secret."""
        return {
            "shop_domain": self.shop_domain,
            "status": self.status,
            "connected_at": self.connected_at.isoformat(),
            "disconnected_at": self.disconnected_at.isoformat() if self.disconnected_at else None,
            "last_synced_at": self.last_synced_at.isoformat() if self.last_synced_at else None,
        }


@dataclass(frozen=True)
class SyncRun:
    id: int
    tenant_id: int
    kind: str
    state: str
    cursor: str | None
    since: dt.datetime | None
    bulk_operation_id: str | None
    products_seen: int
    products_written: int
    products_deleted: int
    collections_seen: int
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    def public(self) -> dict:
        def iso(value):
            return value.isoformat() if value else None

        return {
            "id": self.id, "kind": self.kind, "state": self.state,
            "products_seen": self.products_seen, "products_written": self.products_written,
            "products_deleted": self.products_deleted, "collections_seen": self.collections_seen,
            "error": self.error, "since": iso(self.since), "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "created_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class SettingsRun:
    """One settings push or fetch: queued, running, then succeeded (with what changed) or failed (with why)."""

    id: int
    tenant_id: int
    kind: str  # push | fetch
    state: str
    fields: list[str] | None  # push: the settings written; fetch: the ones adopted into Zelly
    error: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

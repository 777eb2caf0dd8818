"""Custom domain records and their states, as plain frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tls.hostnames import display_hostname

PENDING = "pending"  # added; waiting for the TXT token and the DNS target
ACTIVE = "active"  # verified: Caddy may hold a certificate, the storefront serves it
FAILED = "failed"  # not verified within the window; re-verify on request
STATUSES = (PENDING, ACTIVE, FAILED)


@dataclass(frozen=True)
class CustomDomain:
    id: int
    tenant_id: int
    hostname: str  # normal form (punycode)
    status: str
    is_primary: bool
    verification_token: str
    failure_code: str | None
    failure_reason: str | None
    check_attempts: int
    last_checked_at: dt.datetime | None
    next_check_at: dt.datetime | None
    verified_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def display_name(self) -> str:
        return display_hostname(self.hostname)

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE


def custom_domain_from_row(row) -> CustomDomain:
    return CustomDomain(**{name: getattr(row, name) for name in CustomDomain.__dataclass_fields__})


@dataclass(frozen=True)
class RemovedDomain:
    hostname: str
    certificate_files_removed: int | None  # None: Caddy's storage could not be reached (logged)
    new_primary: str | None

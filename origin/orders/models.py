"""What the orders package takes and gives: plain, frozen data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ExternalOrder:
    """An order placed elsewhere (Shopify), as its mapping built it; ``updated_at`` orders the writes."""

    gid: str  # stored as shopify_gid
    number: str
    email: str | None
    currency: str
    total_price: Decimal
    financial_status: str | None
    fulfillment_status: str | None
    updated_at: dt.datetime
    payload: dict[str, Any]  # the document as sent, JSON-safe (kept for the orders area to read)

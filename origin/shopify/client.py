"""Admin GraphQL client that honours Shopify's cost-based throttle.

Shopify keeps a leaky bucket per app and shop: ``maximumAvailable`` points,
refilled at ``restoreRate`` points/s (100/200/1000/2000 by plan), and a query
runs only if the bucket holds its *requested* cost (the difference to the
actual cost is refunded). Every response reports the bucket in
``extensions.cost.throttleStatus``; this client keeps a model of it from the
last response and, before each request, sleeps until the model holds the
request's cost. So no request is sent into an empty bucket; if Shopify still
answers THROTTLED (another app shares the shop's limits, or the first request
met an empty bucket) the client waits for the refill it reports and repeats.

HTTP 429, 5xx and network errors are retried a few times with exponential
backoff, then surface as ShopifyUnavailable (transient: the worker retries
the task later with its own backoff).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Awaitable, Callable

import httpx

from observability.metrics import Metrics
from origin.shopify.errors import ShopifyError, ShopifyErrorCode, ShopifyUnavailable
from origin.shopify.mapping import loads

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass
class Bucket:
    """The client's model of Shopify's leaky bucket, from the last throttleStatus."""

    maximum: float | None = None
    available: float | None = None
    restore_rate: float | None = None
    observed_at: float = 0.0
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def update(self, status: dict) -> None:
        self.maximum = float(status["maximumAvailable"])
        self.available = float(status["currentlyAvailable"])
        self.restore_rate = float(status["restoreRate"])
        self.observed_at = self.clock()

    def available_now(self) -> float | None:
        if self.available is None:
            return None
        refilled = self.available + (self.clock() - self.observed_at) * self.restore_rate
        return min(self.maximum, refilled)

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds ``cost`` (0 when unknown or already there)."""
        now = self.available_now()
        if now is None or now >= cost:
            return 0.0
        return (cost - now) / self.restore_rate

    def spend(self, cost: float) -> None:
        """Reserve the cost locally until Shopify's answer updates the model."""
        now = self.available_now()
        if now is not None:
            self.available = now - cost
            self.observed_at = self.clock()


def admin_base_url(api_base_url: str, shop_domain: str) -> str:
    return (api_base_url or f"https://{shop_domain}").rstrip("/")


class AdminClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        shop_domain: str,
        access_token: str,
        api_version: str,
        api_base_url: str = "",
        max_http_retries: int = 4,
        backoff_base_s: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        self.http = http
        self.url = f"{admin_base_url(api_base_url, shop_domain)}/admin/api/{api_version}/graphql.json"
        self.headers = {"X-Shopify-Access-Token": access_token, "Content-Type": "application/json"}
        self.bucket = Bucket()
        self.max_http_retries = max_http_retries
        self.backoff_base_s = backoff_base_s
        self.sleep = sleep
        self.requests_sent = 0
        self.throttled_responses = 0
        self.waited_s = 0.0
        self.metrics = metrics  # the throttle state and 429/THROTTLED answers, for /metrics

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            await self.sleep(seconds)

    async def _post(self, payload: bytes) -> dict:
        for attempt in range(1, self.max_http_retries + 1):
            try:
                response = await self.http.post(self.url, content=payload, headers=self.headers, timeout=REQUEST_TIMEOUT)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 200:
                    return loads(response.content)
                if response.status_code in (401, 403):
                    raise ShopifyError(
                        ShopifyErrorCode.INVALID_TOKEN,
                        f"Shopify refused the Admin API token (HTTP {response.status_code}); connect the shop again with a valid token",
                    )
                if response.status_code != 429 and response.status_code < 500:
                    raise ShopifyError(ShopifyErrorCode.API_ERROR, f"Shopify answered HTTP {response.status_code}: {response.text[:200]}")
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("Retry-After")
                if response.status_code == 429 and self.metrics is not None:
                    self.metrics.shopify_throttled.inc()
                if response.status_code == 429 and retry_after:
                    try:
                        await self._wait(float(retry_after))
                        continue
                    except ValueError:
                        pass
            if attempt == self.max_http_retries:
                raise ShopifyUnavailable(f"Shopify did not answer after {attempt} attempts ({problem})")
            delay = self.backoff_base_s * 2 ** (attempt - 1) * random.uniform(0.8, 1.2)
            log.info("Shopify %s; retrying in %.2fs", problem, delay)
            await self._wait(delay)
        raise AssertionError("unreachable")

    async def execute(self, document: str, variables: dict | None = None, *, cost: int) -> dict:
        """Run one query or mutation whose requested cost is ``cost``; returns ``data``."""
        payload = json.dumps({"query": document, "variables": variables or {}}, default=_exact).encode()
        while True:
            await self._wait(self.bucket.wait_for(cost))
            self.bucket.spend(cost)
            self.requests_sent += 1
            body = await self._post(payload)
            status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus")
            if status:
                self.bucket.update(status)
                if self.metrics is not None and self.bucket.maximum:
                    self.metrics.shopify_throttle.set(self.bucket.available / self.bucket.maximum)
            errors = body.get("errors") or []
            if any((error.get("extensions") or {}).get("code") == "THROTTLED" for error in errors):
                self.throttled_responses += 1
                if self.metrics is not None:
                    self.metrics.shopify_throttled.inc()
                if not status:  # no bucket report: back off a second and try again
                    await self._wait(1.0)
                continue
            if errors:
                message = "; ".join(str(error.get("message")) for error in errors)[:500]
                raise ShopifyError(ShopifyErrorCode.API_ERROR, f"Shopify GraphQL error: {message}")
            return body.get("data") or {}


def _exact(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot encode {type(value).__name__}")

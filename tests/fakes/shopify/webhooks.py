"""Sends webhooks the way Shopify does: JSON body, HMAC-SHA256 of the raw body in base64, the X-Shopify-* headers."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid

import httpx


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebhookSender:
    def __init__(self, http: httpx.AsyncClient, url: str, *, shop_domain: str, secret: str, api_version: str = "2025-10") -> None:
        self.http = http
        self.url = url
        self.shop_domain = shop_domain
        self.secret = secret
        self.api_version = api_version

    def headers(self, topic: str, body: bytes, *, webhook_id: str | None = None, triggered_at: str | None = None) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(self.secret, body),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            # Shopify stamps the moment the event happened (kept on its retries): now, unless a test says when.
            "X-Shopify-Triggered-At": triggered_at or dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }

    def encode(self, payload: dict) -> bytes:
        return json.dumps(payload, separators=(",", ":")).encode()

    async def send(self, topic: str, payload: dict, *, webhook_id: str | None = None, triggered_at: str | None = None) -> httpx.Response:
        body = self.encode(payload)
        return await self.http.post(self.url, content=body, headers=self.headers(topic, body, webhook_id=webhook_id, triggered_at=triggered_at))

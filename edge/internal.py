"""``/internal/edge/purge`` and ``/internal/edge/stats``: raw ASGI, no framework.

Access: a valid ``Authorization: Bearer <ZELLY_INTERNAL_TOKEN>`` always; with
no token configured (the embedded default) only a direct loopback client, i.e.
one that came through no proxy (no X-Forwarded-For / Forwarded / Via), since
Caddy on loopback would otherwise make every shopper "local".

Errors are JSON ``{"error": {"code", "message", "field"}}`` like the origin's.
"""

from __future__ import annotations

import hmac
import ipaddress
import json

from edge.config import EdgeConfig
from edge.purge import Purger, PurgeRequestError, parse_purge_request
from edge.stats import EdgeStats
from edge.store import MemoryStore

PREFIX = "/internal/edge/"
MAX_BODY_BYTES = 256 * 1024
_PROXY_HEADERS = frozenset({b"x-forwarded-for", b"forwarded", b"via"})


def is_authorized(scope: dict, config: EdgeConfig) -> bool:
    headers = dict((n.lower(), v) for n, v in scope["headers"])
    authorization = headers.get(b"authorization", b"")
    if config.internal_token:
        expected = b"Bearer " + config.internal_token.encode()
        return hmac.compare_digest(authorization, expected)
    client = scope.get("client")
    if not client or _PROXY_HEADERS.intersection(headers):
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


async def send_json(send, status: int, payload: dict) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def error(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


class InternalEndpoints:
    def __init__(self, config: EdgeConfig, purger: Purger, stats: EdgeStats, store: MemoryStore) -> None:
        self.config = config
        self.purger = purger
        self.stats = stats
        self.store = store

    async def __call__(self, scope: dict, receive, send) -> None:
        if not is_authorized(scope, self.config):
            await send_json(send, 401, error("unauthorized", "send Authorization: Bearer <ZELLY_INTERNAL_TOKEN>"))
            return
        name = scope["path"][len(PREFIX):]
        method = scope["method"]
        if name == "stats":
            if method != "GET":
                await send_json(send, 405, error("method_not_allowed", "use GET for stats"))
                return
            await send_json(send, 200, {**self.stats.snapshot(), "store": {
                "entries": len(self.store), "bytes": self.store.bytes, "capacity_bytes": self.store.capacity_bytes}})
            return
        if name == "purge":
            if method != "POST":
                await send_json(send, 405, error("method_not_allowed", "use POST with a JSON body for purges"))
                return
            await self._purge(scope, receive, send)
            return
        await send_json(send, 404, error("not_found", "the edge has /internal/edge/purge and /internal/edge/stats"))

    async def _purge(self, scope: dict, receive, send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                await send_json(send, 413, error("too_large", f"a purge body is at most {MAX_BODY_BYTES} bytes; split it"))
                return
            if not message.get("more_body"):
                break
        try:
            payload = json.loads(body)
        except ValueError:
            await send_json(send, 422, error("invalid_json", "the body must be JSON like {\"tags\": [\"t1-p2\"]}"))
            return
        try:
            by_tenant = await self.purger.purge(**parse_purge_request(payload))
        except PurgeRequestError as problem:
            await send_json(send, 422, error("invalid_purge", problem.message, problem.field or None))
            return
        await send_json(send, 200, {"purged": sum(by_tenant.values()), "by_tenant": {(t or "none"): n for t, n in sorted(by_tenant.items())}})

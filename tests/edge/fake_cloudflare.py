"""A local stand-in for Cloudflare's purge endpoint (an outside service), served on loopback.

It behaves like the real one where the adapter depends on it:

- ``POST /client/v4/zones/{zone_id}/purge_cache`` only; another zone is 400 (7003);
- ``Authorization: Bearer <token>``: missing or malformed 400 (6003/6111), wrong 403 (10000);
- exactly one of ``files``, ``tags``, ``hosts``, ``prefixes``, ``purge_everything``;
  more than ``batch_limit`` items is 400;
- a token bucket per account (rate, burst); when empty: 429 with ``Retry-After``;
- every answer is the v4 envelope ``{"success", "errors", "messages", "result"}``;
  success returns ``{"id": zone_id}``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

from tests.edge.servers import answer_lifespan


@dataclass
class FakeCloudflare:
    zone_id: str = "023e105f4ecef8ad9ca31a8372d0c353"
    token: str = "cf-test-token"
    batch_limit: int = 100
    rate_per_second: float = 1000.0
    burst: int = 1000
    fail_next: int = 0  # answer this many calls with a 500 first
    received: list[tuple[str, list[str]]] = field(default_factory=list)  # accepted purges
    statuses: list[int] = field(default_factory=list)  # every answer, in order

    def __post_init__(self) -> None:
        self._tokens = float(self.burst)
        self._updated = time.monotonic()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, payload, headers = self._answer(scope, body)
        self.statuses.append(status)
        data = json.dumps(payload).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers]})
        await send({"type": "http.response.body", "body": data, "more_body": False})

    def _answer(self, scope, body: bytes):
        expected = f"/client/v4/zones/{self.zone_id}/purge_cache"
        if scope["method"] != "POST" or not scope["path"].endswith("/purge_cache"):
            return 404, failure(7000, "No route for that URI"), []
        if scope["path"] != expected:
            return 400, failure(7003, "Could not route to /zones/…/purge_cache, perhaps your object identifier is invalid?"), []
        headers = {n.decode().lower(): v.decode() for n, v in scope["headers"]}
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return 400, failure(6003, "Invalid request headers", chain=(6111, "Invalid format for Authorization header")), []
        if authorization != f"Bearer {self.token}":
            return 403, failure(10000, "Authentication error"), []
        if not self._take_token():
            retry_after = math.ceil((1 - self._tokens) / self.rate_per_second)
            return 429, failure(971, "Please wait and consider throttling your request speed"), [(b"retry-after", str(retry_after).encode())]
        if self.fail_next > 0:
            self.fail_next -= 1
            return 500, failure(10001, "Internal error"), []
        try:
            request = json.loads(body)
        except ValueError:
            return 400, failure(1012, "Request must contain one of \"purge_everything\", \"files\", \"tags\", \"hosts\" or \"prefixes\""), []
        kinds = [k for k in ("files", "tags", "hosts", "prefixes", "purge_everything") if k in request] if isinstance(request, dict) else []
        if len(kinds) != 1:
            return 400, failure(1012, "Request must contain exactly one of \"purge_everything\", \"files\", \"tags\", \"hosts\" or \"prefixes\""), []
        kind = kinds[0]
        items = request[kind]
        if kind != "purge_everything":
            if not isinstance(items, list) or not items:
                return 400, failure(1012, f"{kind} must be a non-empty list"), []
            if len(items) > self.batch_limit:
                return 400, failure(1015, f"Too many {kind} in one request: at most {self.batch_limit}"), []
        self.received.append((kind, items if isinstance(items, list) else []))
        return 200, {"success": True, "errors": [], "messages": [], "result": {"id": self.zone_id}}, []

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_second)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


def failure(code: int, message: str, chain: tuple[int, str] | None = None) -> dict:
    error: dict = {"code": code, "message": message}
    if chain:
        error["error_chain"] = [{"code": chain[0], "message": chain[1]}]
    return {"success": False, "errors": [error], "messages": [], "result": None}

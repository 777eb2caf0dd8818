"""A small origin stand-in served over HTTP: the edge's own HTTP semantics are tested against it.

It is not a mock of the edge: it plays the origin's part of the contract
(Cache-Control, Cache-Tag, ETag, Set-Cookie, slow or failing answers) and
counts exactly what reached it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from tests.edge.servers import answer_lifespan

TENANTS = {"shop-a.test": 1, "shop-b.test": 2}


@dataclass
class Behaviour:
    status: int = 200
    cache_control: str | None = "public, s-maxage=60"
    headers: list[tuple[str, str]] = field(default_factory=list)
    delay: float = 0.0
    body: bytes | None = None
    etag: str | None = None  # fixed validator: a matching If-None-Match gets 304
    last_modified: str | None = None  # fixed validator: an equal If-Modified-Since gets 304


class StandInOrigin:
    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.hits: Counter[tuple[str, str]] = Counter()  # (host, path?query) -> requests
        self.seen_headers: list[dict[str, str]] = []
        self.seen_targets: list[str] = []

    def set(self, path: str, **behaviour) -> Behaviour:
        self.behaviours[path] = Behaviour(**behaviour)
        return self.behaviours[path]

    def total(self) -> int:
        return sum(self.hits.values())

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        while True:  # drain the request body
            message = await receive()
            if not message.get("more_body"):
                break
        headers = {n.decode().lower(): v.decode("latin-1") for n, v in scope["headers"]}
        host = headers.get("host", "").split(":")[0]
        target = scope["raw_path"].decode() + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        self.seen_headers.append(headers)
        self.seen_targets.append(target)
        self.hits[(host, target)] += 1
        count = self.hits[(host, target)]
        behaviour = self.behaviours.get(scope["path"], Behaviour())
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        body = behaviour.body if behaviour.body is not None else f"{scope['method']} {host}{target} #{count}".encode()
        status = behaviour.status
        if behaviour.etag is not None or behaviour.last_modified is not None:
            response_headers = [(b"content-type", b"text/plain")]
            if behaviour.etag is not None:
                response_headers.append((b"etag", behaviour.etag.encode()))
            if behaviour.last_modified is not None:
                response_headers.append((b"last-modified", behaviour.last_modified.encode()))
            if (behaviour.etag is not None and headers.get("if-none-match") == behaviour.etag) or (
                behaviour.etag is None and headers.get("if-modified-since") == behaviour.last_modified
            ):
                status, body = 304, b""
                response_headers = response_headers[1:]
        else:
            response_headers = [(b"content-type", b"text/plain"), (b"etag", f'"v{count}"'.encode())]
        if behaviour.cache_control is not None:
            response_headers.append((b"cache-control", behaviour.cache_control.encode()))
        tenant = TENANTS.get(host)
        tags = ([f"t{tenant}", f"t{tenant}-p{count}"] if tenant else []) + [f"h{host}"]
        response_headers.append((b"cache-tag", ",".join(tags).encode()))
        response_headers += [(n.encode(), v.encode()) for n, v in behaviour.headers]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

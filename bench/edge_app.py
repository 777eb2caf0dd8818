"""The app the edge benchmarks serve: the edge wrapping a storefront-sized page in-process.

``python -m uvicorn bench.edge_app:app`` / ``hypercorn bench.edge_app:app`` /
``granian --interface asgi bench.edge_app:app``. The page (about 12 KB of
HTML, ``public, s-maxage=300``, tagged like a product page) stands in for the
origin, so a hit measures the edge and the server, nothing else.
"""

from __future__ import annotations

from edge.app import create_edge_app
from edge.config import EdgeConfig
from tests.edge.servers import answer_lifespan

PAGE = ("<!doctype html><html><head><title>Hat</title></head><body>" + "<div class=product>Wool hat 10.00 EUR</div>" * 280 + "</body></html>").encode()


async def storefront_page(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        await answer_lifespan(receive, send)
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"cache-control", b"public, max-age=0, s-maxage=300, stale-while-revalidate=60"),
        (b"cache-tag", b"t1,t1-p5,hshop-a.test"), (b"etag", b'"p5-v1"')]})
    await send({"type": "http.response.body", "body": PAGE, "more_body": False})


app = create_edge_app(EdgeConfig(), storefront_page)

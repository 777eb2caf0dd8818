"""Keep-alive races with the origin (issue 12, item 5): an upstream that closes idle connections as the edge reuses them.

The upstream here is a real HTTP/1.1 server on loopback written with asyncio
streams, because it must do what hypercorn only does by accident of timing:
answer the first request on a connection (keep-alive), then read the next one
and close the connection without a byte of response, exactly the moment an idle
timeout on the origin crosses a reuse on the edge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator

from edge.upstream import UPSTREAM_KEEPALIVE_SECONDS
from ops.serve import hypercorn_config
from tests.edge.conftest import running_edge, shop


class ClosesReusedConnections:
    """Answers the first request of every connection, closes the connection on the second."""

    def __init__(self) -> None:
        self.answered: list[str] = []  # "METHOD target", in order
        self.dropped: list[str] = []  # requests read and then left unanswered
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for number in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _ = request_line.split(" ", 2)
                length = 0
                for line in header_lines:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if number == 1:
                    self.dropped.append(f"{method} {target}")
                    return  # the idle close crossing the reuse: no response byte
                self.answered.append(f"{method} {target}")
                body = f"{method} {target}".encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncache-control: public, s-maxage=60\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def closing_upstream() -> AsyncIterator[tuple[ClosesReusedConnections, str]]:
    upstream = ClosesReusedConnections()
    server = await asyncio.start_server(upstream.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield upstream, f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_cacheable_misses_on_a_reused_connection_the_origin_closed_are_retried_once_on_a_fresh_one() -> None:
    async with closing_upstream() as (upstream, url):
        async with running_edge(url) as (app, client):

            responses = [await client.get(f"/products/p{n}", headers=shop()) for n in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert [r.text for r in responses] == [f"GET /products/p{n}" for n in range(4)]
    assert upstream.answered == [f"GET /products/p{n}" for n in range(4)]
    assert upstream.dropped  # the race really happened: some reuse was cut off
    assert app.upstream.retries == len(upstream.dropped)


async def test_bypassed_gets_are_retried_but_a_post_is_not_and_its_502_is_logged_with_the_cause(caplog) -> None:
    async with closing_upstream() as (upstream, url):
        async with running_edge(url) as (app, client):
            first = await client.get("/account?debug=1", headers=shop())
            second = await client.get("/account?debug=2", headers=shop())  # reuses the first's connection
            await client.get("/account?debug=3", headers=shop())  # leaves a connection for the POST to reuse
            with caplog.at_level(logging.WARNING, logger="edge.upstream"):

                posted = await client.post("/cart/add", headers=shop(), content=b"variant_id=1")

    assert first.status_code == second.status_code == 200
    assert second.text == "GET /account?debug=2"
    assert upstream.dropped[0] == "GET /account?debug=2" and app.upstream.retries == 1
    assert posted.status_code == 502
    assert upstream.dropped[-1] == "POST /cart/add"  # sent once, never twice
    assert "POST /cart/add" not in upstream.answered
    assert any("502 for POST /cart/add" in record.getMessage() and "RemoteProtocolError" in record.getMessage() for record in caplog.records)


async def test_the_edge_retires_idle_upstream_connections_before_the_origin_does() -> None:
    assert UPSTREAM_KEEPALIVE_SECONDS < hypercorn_config("127.0.0.1:0").keep_alive_timeout

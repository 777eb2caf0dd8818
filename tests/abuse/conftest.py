"""The abuse suite (issue 13): each attack from the issue, as a request that must fail cleanly.

Same wiring as the storefront tests: the real public app over real services, on
both backends (the ``services`` fixture of tests/conftest.py is parametrised).
``analytics`` (a per-test chDB database attached to ``services``) comes from the analytics suite.
``public_port`` serves that app with hypercorn on loopback, and
:func:`raw_request` writes the request bytes exactly as given (test clients
re-encode paths and headers; an attacker does not).
"""

from __future__ import annotations

import asyncio

import pytest

from origin.app import create_app
from tests.conftest import _free_loopback_port
from tests.analytics.conftest import analytics  # noqa: F401  (a fixture, used by name)
from tests.storefront.conftest import app, client  # noqa: F401 (fixtures shared with the storefront tests)
from tests.storefront.test_browser import serving_app


@pytest.fixture
async def public_port(services):
    port = _free_loopback_port()
    async with serving_app(create_app(services.settings, services=services), port):
        yield port


async def raw_request(port: int, method: str, target: bytes, headers: dict[bytes, bytes], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if body:
        headers = {**headers, b"content-length": str(len(body)).encode()}
    head = [method.encode() + b" " + target + b" HTTP/1.1"] + [name + b": " + value for name, value in headers.items()]
    writer.write(b"\r\n".join([*head, b"connection: close", b"", b""]) + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    await writer.wait_closed()
    status_head, _, response_body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = status_head.decode("latin-1").split("\r\n")
    response_headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        response_headers[key] = (response_headers[key] + "\n" + value.strip()) if key in response_headers else value.strip()
    return int(status_line.split()[1]), response_headers, response_body

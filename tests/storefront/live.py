"""The public app served by hypercorn on loopback, and headless Chromium driven by Playwright.

For the tests that need a real browser (scripts, layout, screenshots, Lighthouse).
Chromium is Debian's (/usr/bin/chromium, installed by ops/system-packages.sh):
Playwright's own browser download is not used.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from typing import AsyncIterator

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from origin.app import create_app
from origin.services import Services
from tests.conftest import REQUIRE_SERVICES

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP *.localhost 127.0.0.1"]


def require_chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium)"
        if REQUIRE_SERVICES:
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serving(services: Services) -> AsyncIterator[int]:
    """The public app on a free loopback port, for as long as the block runs."""
    app = create_app(services.settings, services=services)
    port = free_port()
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield port
    finally:
        stop.set()
        await server


@contextlib.asynccontextmanager
async def browser():
    from playwright.async_api import async_playwright

    binary = require_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()

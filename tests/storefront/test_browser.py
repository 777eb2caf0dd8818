"""One real browser: headless Chromium loads a product page served by hypercorn on loopback.

It proves the page renders in a real engine (the DOM after parsing and
scripts, and a screenshot of the size asked for). CI installs Debian's
chromium (.ci/run); a missing browser fails there and skips elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import struct

import pytest
from hypercorn.asyncio import serve
from hypercorn.config import Config

from origin.app import create_app
from tests.conftest import REQUIRE_SERVICES
from tests.storefront.conftest import parse_html, texts
from tests.storefront.shops import two_shops

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--hide-scrollbars")


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
async def serving_app(app, port: int):
    """``app`` served by hypercorn on 127.0.0.1:``port`` for a real browser, until the block ends."""
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
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
        yield
    finally:
        stop.set()
        await server


async def chromium(binary: str, *args: str) -> bytes:
    process = await asyncio.create_subprocess_exec(
        binary, *CHROMIUM_FLAGS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    return stdout


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_product_page_in_headless_chromium(services, tmp_path):
    binary = require_chromium()
    await two_shops(services)
    app = create_app(services.settings, services=services)
    port = free_port()
    url = f"http://nordic.localhost:{port}/products/linen-shirt"
    resolve = f"--host-resolver-rules=MAP nordic.localhost 127.0.0.1"
    async with serving_app(app, port):
        dom = (await chromium(binary, resolve, "--dump-dom", url)).decode()
        screenshot = tmp_path / "product.png"
        await chromium(binary, resolve, "--window-size=1024,900", f"--screenshot={screenshot}", url)

    page = parse_html(dom)
    assert texts(page, ".//h1") == ["Nordic Linen Shirt"]
    assert texts(page, ".//span[@data-price]") == ["99,90 €"]
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (1024, 900)

"""Storefront test wiring: the real public app over real services (both backends).

``shop_client`` serves the app exactly as hypercorn would (startup hooks run,
so the tenancy listener is live) and ``get`` sends a request for a host.
HTML is checked by parsing it with html5lib in strict mode: a page that is not
well-formed HTML fails the test before any assertion runs.
"""

from __future__ import annotations

import contextlib
import json
from typing import AsyncIterator
from xml.etree import ElementTree

import html5lib
import pytest
from sqlalchemy import event

from origin.app import create_app
from origin.catalog.snapshot import CatalogSnapshots
from origin.services import Services
from origin.web.context import SERVICES_KEY
from origin.web.storefront.page_cache import SNAPSHOTS_KEY, local_snapshots


@pytest.fixture
async def app(services: Services):
    application = create_app(services.settings, services=services)
    async with application.test_app() as test_app:
        yield test_app


@pytest.fixture
def client(app):
    return app.test_client()


async def get(client, host: str, path: str, **headers: str):
    response = await client.get(path, headers={"Host": host, **headers})
    return response, await response.get_data(as_text=True)


async def settle(client) -> None:
    """Wait for the catalog snapshots being built (origin/catalog/snapshot.py), so a statement count is exact."""
    await local_snapshots(client.app).settle()


def sql_only(client) -> None:
    """This app answers every catalog read from SQL (no snapshots): for the SQL path's own round-trip counts."""
    client.app.extensions[SNAPSHOTS_KEY] = CatalogSnapshots(client.app.extensions[SERVICES_KEY].db, max_products=0)


def parse_html(text: str) -> ElementTree.Element:
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


def texts(root: ElementTree.Element, xpath: str) -> list[str]:
    return [" ".join("".join(element.itertext()).split()) for element in root.findall(xpath)]


def attribute(root: ElementTree.Element, xpath: str, name: str) -> str | None:
    element = root.find(xpath)
    return None if element is None else element.get(name)


def json_ld(root: ElementTree.Element) -> dict:
    element = root.find(".//script[@type='application/ld+json']")
    assert element is not None, "no JSON-LD on the page"
    return json.loads(element.text)


class QueryCounter:
    """Counts SQL statements sent to the database (one per round trip)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@contextlib.contextmanager
def count_queries(services: Services):
    counter = QueryCounter()
    event.listen(services.db.sync_engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(services.db.sync_engine, "before_cursor_execute", counter)

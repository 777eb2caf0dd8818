"""The edge's route table (edge/routes.py) against what the origin's storefront really reads.

A recording mapping stands in for the query string: every parameter name
``canonical_query`` (the one definition the handlers and the ASGI fast path
use) looks at is recorded, and must be declared for that path's route.
"""

from __future__ import annotations

from typing import Iterator, Mapping

import pytest

from edge.config import EdgeConfig
from edge.routes import STOREFRONT_ROUTES
from origin.web.storefront.listing import canonical_query


class RecordingArgs(Mapping[str, str]):
    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        raise KeyError(name)

    def get(self, name: str, default=None):  # type: ignore[override]
        self.read.add(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.read.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a page must read named parameters, never all of them")

    def __len__(self) -> int:
        return 0


PAGES = ["/", "/search", "/collections/all", "/collections/summer", "/products/hat", "/sitemap.xml", "/robots.txt"]


@pytest.mark.parametrize("path", PAGES)
def test_every_parameter_a_cacheable_page_reads_is_declared_for_its_route(path: str) -> None:
    args = RecordingArgs()
    route = EdgeConfig().route_table.find(path)

    query = canonical_query(path, args)

    assert query is not None  # a cacheable page
    assert route is not None, f"{path} is cacheable at the origin but has no edge route"
    assert args.read <= route.query_params, f"{path} reads {sorted(args.read - route.query_params)} undeclared"


def test_no_route_declares_page_although_no_page_reads_it() -> None:
    declared = set().union(*(r.query_params for r in STOREFRONT_ROUTES))
    read: set[str] = set()
    for path in PAGES:
        args = RecordingArgs()
        canonical_query(path, args)
        read |= args.read

    assert declared == read
    assert "page" not in declared


@pytest.mark.parametrize("path", ["/cart", "/account", "/products/hat/reviews", "/api/v1/products"])
def test_paths_that_are_no_cacheable_page_have_no_route_with_parameters(path: str) -> None:
    route = EdgeConfig().route_table.find(path)

    assert canonical_query(path, RecordingArgs()) is None
    assert route is None

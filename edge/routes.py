"""What each storefront route reads from the query string: the table the origin publishes to the edge.

The edge keys a page on the parameters its route reads and nothing else
(issue 13, item 2): a parameter the route ignores (``?page=7`` on the home
page, ``?x=<random>``) is dropped from the key *and* from the request sent
upstream, so the page stored is the page the key names and a hostile query
string costs neither a cache entry nor an origin render. A path no route
claims keeps only tracking-free, parameter-free requests cacheable: with any
other parameter it bypasses (stored nowhere).

The origin reads its query parameters in origin/web/storefront/listing.py
(``canonical_query``); tests/edge/test_routes.py checks that every parameter
it reads is declared here, so a route that starts reading a new parameter
fails a test until it is added.

``shared=False`` routes stay in the edge's memory tier only (never the shared
Redis tier): media is unbounded by name, large, and cheap to redraw.

Patterns: an exact path, ``/section/*`` (exactly one more segment) or
``/section/**`` (anything below).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    pattern: str
    query_params: frozenset[str]
    shared: bool = True  # may enter the Redis tier


def route(pattern: str, *params: str, shared: bool = True) -> Route:
    return Route(pattern, frozenset(params), shared)


LISTING_PARAMS = ("sort", "cursor", "available", "price_min", "price_max")

STOREFRONT_ROUTES = (
    route("/"),
    route("/search", "q", "cursor"),
    route("/collections/*", *LISTING_PARAMS),
    # option1..3 are the no-JavaScript variant picker: the page answers 303 to ?variant=<id>.
    route("/products/*", "variant", "option1", "option2", "option3"),
    route("/sitemap.xml"),
    route("/robots.txt"),
    route("/assets/**"),
    route("/media/**", shared=False),
)


class RouteTable:
    """``STOREFRONT_ROUTES`` indexed for one dict lookup (or a few prefix checks) per request."""

    def __init__(self, routes: tuple[Route, ...] = STOREFRONT_ROUTES) -> None:
        self.routes = routes
        self._exact = {r.pattern: r for r in routes if "*" not in r.pattern}
        self._one_segment = {r.pattern[:-1]: r for r in routes if r.pattern.endswith("/*")}
        self._prefixes = tuple((r.pattern[:-2], r) for r in routes if r.pattern.endswith("/**"))

    def find(self, path: str) -> Route | None:
        found = self._exact.get(path)
        if found is not None:
            return found
        head, slash, rest = path[1:].partition("/")
        if slash and rest and "/" not in rest:
            found = self._one_segment.get(f"/{head}/")
            if found is not None:
                return found
        for prefix, candidate in self._prefixes:
            if path.startswith(prefix):
                return candidate
        return None

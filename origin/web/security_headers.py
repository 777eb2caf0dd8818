"""Security headers for the platform's own responses: the seller API and the analytics dashboard (issue 13).

Both live on hosts that store content shares a parent domain with, so they say
outright that no other page may frame them (clickjacking), that a browser must
not sniff a JSON body into HTML, and that their URLs (the dashboard's carries
its signed link) are never sent on as a Referer. Set with ``setdefault``: a
route with a stricter or looser need of its own (the API reference page's
Swagger UI) keeps its own Content-Security-Policy.
"""

from __future__ import annotations

from quart import Response

# JSON and errors: nothing to load, nothing to run.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Server-rendered HTML with inline CSS and inline SVG charts; its one form submits to itself.
DASHBOARD_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"


def with_security_headers(response: Response, policy: str) -> Response:
    response.headers.setdefault("Content-Security-Policy", policy)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response

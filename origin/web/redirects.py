"""The one way a response gets a ``Location`` (issue 13).

A redirect to the primary domain copied the request's decoded path into the
header: ``/x%0D%0ASet-Cookie:...`` became a header value with CRLF in it, which
Werkzeug refused with a 500 (and a laxer server would have sent as a second
header). :func:`redirect_response` percent-encodes every character that is not
printable ASCII and keeps existing escapes as they are; :func:`request_target`
is the path and query exactly as the client sent them (still percent-encoded),
for redirects that carry the request's own target elsewhere.
"""

from __future__ import annotations

from urllib.parse import quote

from quart import Response, request

# RFC 3986 reserved and unreserved characters, plus "%" so escapes already present stay single-encoded.
LOCATION_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def safe_location(location: str) -> str:
    return quote(location, safe=LOCATION_SAFE)


def redirect_response(location: str, status: int, *, cache_control: str | None = None) -> Response:
    response = Response("", status=status, headers={"Location": safe_location(location)})
    if cache_control:
        response.headers["Cache-Control"] = cache_control
    return response


def request_target() -> str:
    """``/path?query`` as sent: raw bytes from the ASGI scope, never the decoded path."""
    path = request.scope.get("raw_path") or request.path.encode()
    query = request.scope.get("query_string") or b""
    target = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    return target

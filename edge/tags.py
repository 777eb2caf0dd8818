"""The one module that formats cache tags and purge channels.

Tags go out as ``Cache-Tag`` headers (Cloudflare and the edge read the same
ones) and are what every purge names. Every tag carries its tenant, so a purge
can never reach another tenant's pages.
"""

from __future__ import annotations

PURGE_CHANNEL = "zelly:edge:purge"


def tenant_tag(tenant_id: int) -> str:
    return f"t{tenant_id}"


def product_tag(tenant_id: int, product_id: int) -> str:
    return f"t{tenant_id}-p{product_id}"


def collection_tag(tenant_id: int, collection_id: int) -> str:
    return f"t{tenant_id}-c{collection_id}"


def theme_tag(tenant_id: int) -> str:
    return f"t{tenant_id}-theme"


def host_tag(host: str) -> str:
    return f"h{host}"


def cache_tag_header(tags: list[str] | tuple[str, ...] | set[str]) -> str:
    """The ``Cache-Tag`` value: comma-separated, de-duplicated, order kept."""
    return ",".join(dict.fromkeys(tags))


def purge_message(*, tags: list[str] | tuple[str, ...] = (), urls: list[str] | tuple[str, ...] = (), hosts: list[str] | tuple[str, ...] = ()) -> str:
    """The JSON message published on PURGE_CHANNEL; every edge process applies it."""
    import json

    return json.dumps({"tags": list(tags), "urls": list(urls), "hosts": list(hosts)}, separators=(",", ":"))

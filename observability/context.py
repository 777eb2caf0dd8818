"""The request id and tenant id of what this task serves, for every log line and span.

One contextvar holds a small mutable :class:`RequestContext`: the outermost
ASGI layer (or the task middleware) sets it once, and whoever learns the
tenant later (the storefront's Host lookup, the API's token check) fills it in
with :func:`bind_tenant`. Quart runs a handler in a task created from the
layer's context, so the object is shared and the assignment reaches the layer
too (it labels the request's metrics with it).
"""

from __future__ import annotations

import contextvars
import itertools
import os
import re

REQUEST_ID_HEADER = b"x-request-id"
# What a proxy may hand us: short and printable, so a hostile value cannot forge a log line.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class RequestContext:
    __slots__ = ("request_id", "tenant_id")

    def __init__(self, request_id: str, tenant_id: int | None = None) -> None:
        self.request_id = request_id
        self.tenant_id = tenant_id


current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("zelly_request", default=None)


# A random per-process prefix and a counter: unique across processes and restarts, with no system
# call per request (os.urandom costs a syscall; a request id needs to be unique, not secret).
_PREFIX = os.urandom(8).hex()
_counter = itertools.count(1)


def new_request_id() -> str:
    return f"{_PREFIX}{next(_counter) & 0xFFFFFFFF:08x}"


def accepted_request_id(offered: bytes | str | None) -> str:
    """``offered`` when it is a well-formed id (from a trusted proxy), else a new one."""
    if offered:
        value = offered.decode("latin-1") if isinstance(offered, bytes) else offered
        if _VALID_REQUEST_ID.fullmatch(value):
            return value
    return new_request_id()


def bind_tenant(tenant_id: int | None) -> None:
    """Record the tenant the current request or task serves (a no-op outside one)."""
    context = current.get()
    if context is not None:
        context.tenant_id = tenant_id


def request_id() -> str | None:
    context = current.get()
    return context.request_id if context is not None else None


def start(request_id: str, tenant_id: int | None = None) -> tuple[RequestContext, contextvars.Token]:
    context = RequestContext(request_id, tenant_id)
    return context, current.set(context)

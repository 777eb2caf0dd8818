"""What a write tells the caches, sent only after its transaction commits.

Two mechanisms, both keyed by tenant:

- a per-tenant *catalog version* in the shared cache (origin/catalog_versions.py):
  the storefront's page and data cache keys include it, so bumping it retires
  every cached page of that tenant at once (cheap, and exact enough for a catalog of one tenant);
- a purge message on the edge channel (edge.tags.PURGE_CHANNEL) naming the
  tags the write touched, so every edge process (and Cloudflare, through the
  purge queue) drops exactly the affected pages.

Tenant-level changes (suspension, theme, domains) also go out on
TENANCY_CHANNEL so every process drops its in-process Host -> tenant entries.

Every ``do_*`` action sends these (and enqueues its tasks) the same way: it
opens :func:`transaction`, fills the :class:`AfterCommit` it is handed while it
writes, and the effects go out only once the commit succeeded; a rollback (any
exception) discards them. Like zulip's ``transaction.on_commit`` and warehouse's
after-commit purge: a purge sent before the commit would let a reader re-cache
the old rows, a task enqueued before it could run before its rows exist.
:func:`publish_purge` stays the one primitive a purge goes through.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from edge import cache_keys, tags as cache_tags
from origin import queueing
from origin.services import Services

log = logging.getLogger(__name__)

TENANCY_CHANNEL = "zelly:tenancy"


async def catalog_version(services: Services, tenant_id: int) -> int:
    """The tenant's catalog version as stored (Services.catalog_versions remembers it per process)."""
    return await services.catalog_versions.read(tenant_id)


async def publish_purge(services: Services, tenant_id: int, tags: list[str] | tuple[str, ...] = (), *, hosts: tuple[str, ...] = ()) -> None:
    """Retire the tenant's cached pages and tell every tier which tags changed.

    The tiers are called directly: this process's remembered versions, the edge
    processes (pub/sub) and Cloudflare's purge queue when ``zelly origin`` has one.
    """
    await services.catalog_versions.bump(tenant_id)
    await services.broadcast.publish(cache_tags.PURGE_CHANNEL, cache_tags.purge_message(tags=list(tags), hosts=list(hosts)))
    services.catalog_versions.forget(tags)
    if services.cloudflare_purge is not None:
        services.cloudflare_purge.enqueue(tags=list(tags), hosts=list(hosts))


async def publish_tenant_change(services: Services, tenant_id: int, hosts: tuple[str, ...] = ()) -> None:
    """Suspension, theme or domain change: drop Host -> tenant entries and every page of the tenant.

    ``hosts``: names that changed hands (a domain removed or activated). Their shared
    Host -> tenant entries are deleted here, whichever tenant they named, every
    process drops its own (the message lists them: origin.tenancy.resolution), and
    the edge drops every page stored under them, whoever's they were (issue 13, item 5).
    """
    hosts = tuple(dict.fromkeys(hosts))
    if hosts:
        await services.cache.delete(*(cache_keys.host_key(host) for host in hosts))
    message = {"tenant_id": tenant_id, "hosts": list(hosts)} if hosts else {"tenant_id": tenant_id}
    await services.broadcast.publish(TENANCY_CHANNEL, json.dumps(message))
    await publish_purge(services, tenant_id, [cache_tags.tenant_tag(tenant_id), *map(cache_tags.host_tag, hosts)], hosts=hosts)


@dataclass
class _Purge:
    tenant_id: int
    tags: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    async def send(self, services: Services) -> None:
        if self.tags or self.hosts:
            await publish_purge(services, self.tenant_id, self.tags, hosts=tuple(self.hosts))


@dataclass(frozen=True)
class _TenantChange:
    tenant_id: int
    hosts: tuple[str, ...] = ()

    async def send(self, services: Services) -> None:
        await publish_tenant_change(services, self.tenant_id, self.hosts)


@dataclass(frozen=True)
class _Task:
    queue: str
    task_name: str
    kwargs: dict[str, Any]
    on_failure: Callable[[Exception], Awaitable[None]] | None
    best_effort: bool = False

    async def send(self, services: Services) -> None:
        try:
            await queueing.enqueue(services, self.queue, self.task_name, **self.kwargs)
        except Exception as error:  # any enqueue failure: let the action repair what waits for the task
            if self.on_failure is not None:
                await self.on_failure(error)
            if self.best_effort:
                log.warning("could not enqueue %s on %s (a sweep picks the work up): %r", self.task_name, self.queue, error)
                return
            raise


@dataclass(frozen=True)
class _Message:
    channel: str
    message: str

    async def send(self, services: Services) -> None:
        await services.broadcast.publish(self.channel, self.message)


@dataclass(frozen=True)
class _Call:
    effect: Callable[[], Awaitable[None] | None]

    async def send(self, services: Services) -> None:
        result = self.effect()
        if inspect.isawaitable(result):
            await result


@dataclass
class AfterCommit:
    """What a transaction's writes must tell the world, held until the commit succeeded.

    Filled inside the transaction (``purge``, ``tenant_changed``, ``enqueue``,
    ``publish``, ``call``), flushed by :func:`transaction` after the commit, in the
    order the effects were first asked for. Purges of one tenant merge into one
    message (at the place of the first).
    """

    _effects: list[_Purge | _TenantChange | _Task | _Message | _Call] = field(default_factory=list)
    _purges: dict[int, _Purge] = field(default_factory=dict)

    def purge(self, tenant_id: int, *tags: str, hosts: tuple[str, ...] = ()) -> None:
        pending = self._purges.get(tenant_id)
        if pending is None:
            pending = self._purges[tenant_id] = _Purge(tenant_id)
            self._effects.append(pending)
        pending.tags.extend(tag for tag in dict.fromkeys(tags) if tag not in pending.tags)
        pending.hosts.extend(host for host in dict.fromkeys(hosts) if host not in pending.hosts)

    def tenant_changed(self, tenant_id: int, *, hosts: tuple[str, ...] = ()) -> None:
        """Suspension, theme or domain change (``hosts``: names that changed hands): see :func:`publish_tenant_change`."""
        self._effects.append(_TenantChange(tenant_id, tuple(hosts)))

    def enqueue(
        self,
        queue: str,
        task_name: str,
        /,
        *,
        on_failure: Callable[[Exception], Awaitable[None]] | None = None,
        best_effort: bool = False,
        **kwargs: Any,
    ) -> None:
        """A task sent through origin.queueing; ``on_failure`` repairs the committed rows if it cannot be sent.

        ``best_effort``: a lost enqueue is logged, not raised, and the later effects still go
        out. For work a periodic sweep finds anyway (the email outbox): the caller's committed
        action (an order) must not answer with an error because a wake-up was lost.
        """
        self._effects.append(_Task(queue, task_name, kwargs, on_failure, best_effort))

    def publish(self, channel: str, message: str) -> None:
        """A raw broadcast message (e.g. waking a bulk sync that waits for Shopify)."""
        self._effects.append(_Message(channel, message))

    def call(self, effect: Callable[[], Awaitable[None] | None]) -> None:
        """Any other after-commit step (sync or async), e.g. forgetting an in-process cache entry."""
        self._effects.append(_Call(effect))

    async def flush(self, services: Services) -> None:
        effects, self._effects, self._purges = self._effects, [], {}
        for effect in effects:
            await effect.send(services)


@contextlib.asynccontextmanager
async def transaction(services: Services) -> AsyncIterator[tuple[AsyncConnection, AfterCommit]]:
    """``async with transaction(services) as (conn, effects):`` one transaction, effects after its commit.

    An exception inside rolls the transaction back and drops the effects; an
    early ``return`` inside commits and flushes like the normal end. A failing
    effect raises after the commit: the rows stay, the later effects are not sent.
    """
    effects = AfterCommit()
    async with services.db.begin() as conn:
        yield conn, effects
    await effects.flush(services)

"""Host -> tenant, on every storefront request (issue 3, item 1).

    host ──LRU (this process)──▶ shared cache ──▶ database
      │         │ entries expire after LRU_TTL, and are
      │         │ dropped at once on TENANCY_CHANNEL messages
      │         └ negative answers cached too, briefly
      └ normalized once per request by the outermost ASGI layer
        (tls.hostnames.normalize_host, origin/web/asgi/host.py); a malformed
        Host never reaches resolution (HTTP 400 there)

Every site record is stamped with the tenant's catalog version read *before*
its rows were (origin/catalog_versions.py), in this process's LRU and in the
shared cache alike. A tenant change (theme, strings, templates, suspension,
domains) commits, then bumps that version (origin.invalidation.publish_tenant_change),
so a record stamped ``s`` holds every change whose bump came before ``s`` was
read. :meth:`TenantResolver.resolve_current` gives a request at version ``v`` a record
stamped at least ``v``, re-reading an older one: a page built at ``v`` never
shows the tenant as it was before ``v``, whether or not the tenancy message
(pub/sub, best effort, on another channel than the purge) has arrived yet in
this process or in another one (issue 14, item 3). A refreshed record equal to
the one it replaces keeps the old object, so what is memoized on its identity
(cards, page chrome, product pages) survives the catalog writes that bump the
version without touching the tenant.

A host names a tenant in exactly two ways: ``<slug>.<ZELLY_PLATFORM_DOMAIN>``
or an *active* custom domain. Anything else (the bare platform domain, an IP,
an unknown domain) resolves to ``None``: there is never a default tenant.

The answer carries the tenant's *canonical host* (primary custom domain, else
the platform subdomain) read from the database, so absolute URLs never come
from request headers like ``X-Forwarded-Host``.

Whether a host should *redirect* (apex -> www, platform subdomain -> primary
domain) is the domains feature's decision, which the storefront calls directly
(origin.domains.routing.decide_host_redirect).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Mapping

from edge import cache_keys
from origin.broadcast import follow
from origin.cache import INT, TypedJson
from origin.invalidation import TENANCY_CHANNEL
from origin.services import Services
from origin.settings import Settings
from origin.tenancy import queries
from origin.tenancy.models import Tenant
from tls.hostnames import HostnameError, normalize_host

log = logging.getLogger(__name__)

LRU_SIZE = 4096
LRU_TTL_SECONDS = 30.0  # bounds staleness when a pub/sub message is missed (delivery is best effort)
POSITIVE_TTL_SECONDS = 300  # shared cache; dropped on tenancy messages
NEGATIVE_TTL_SECONDS = 15  # a domain activated a moment ago starts answering within this


@dataclass(frozen=True, eq=False)  # identity hash: web code memoizes per-site views on it
class TenantSite:
    """What a storefront request needs about its tenant, cached as one record."""

    tenant: Tenant
    canonical_host: str  # primary active custom domain, else <slug>.<platform domain>
    base_url: str  # scheme://canonical_host[:port], from settings and the database only
    template_overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def tenant_id(self) -> int:
        return self.tenant.id


def platform_host(settings: Settings, slug: str) -> str:
    return f"{slug}.{settings.platform_domain}"


def public_base_url(settings: Settings, host: str) -> str:
    """Absolute URL base shoppers reach ``host`` at (Caddy's ports; default ports omitted)."""
    scheme = settings.public_scheme
    port = settings.https_port if scheme == "https" else settings.http_port
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port == default else f"{scheme}://{host}:{port}"


def slug_from_platform_host(settings: Settings, host: str) -> str | None:
    suffix = "." + settings.platform_domain.lower().rstrip(".")
    if not host.endswith(suffix):
        return None
    slug = host[: -len(suffix)]
    return slug if slug and "." not in slug else None


def is_same_site(old: TenantSite, new: TenantSite) -> bool:
    """Equal in every field (TenantSite itself compares by identity); from the fields themselves, so a field
    added later is compared too (a forgotten one would keep a stale record's object)."""
    return all(getattr(old, name) == getattr(new, name) for name in _SITE_FIELDS)


_SITE_FIELDS = tuple(site_field.name for site_field in dataclasses.fields(TenantSite))


@dataclass(frozen=True)
class StampedSite:
    """A site record and the tenant's catalog version read before its rows were (the module docstring)."""

    site: TenantSite
    catalog_version: int


# Shared-cache keys (edge/cache_keys.py): host -> tenant id (0 = no tenant), tenant id -> StampedSite (JSON).
host_cache_key = cache_keys.host_key
site_cache_key = cache_keys.site_key
SITE_CODEC: TypedJson[StampedSite] = TypedJson(StampedSite)


SiteLoader = Callable[[object, int], Awaitable[Mapping[str, str]]]


class TenantResolver:
    """One per process; ``resolve`` is the hot path (an OrderedDict lookup on a hit)."""

    def __init__(self, services: Services, *, load_templates: SiteLoader | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self._load_templates = load_templates
        # host -> (expires at, site or None, the site's catalog version stamp)
        self._lru: OrderedDict[str, tuple[float, TenantSite | None, int]] = OrderedDict()

    async def resolve(self, host: str) -> tuple[str, TenantSite | None]:
        """(host, its site or None) for a host already in normal form (tls.hostnames.normalize_host)."""
        entry = self._lru.get(host)
        if entry is not None and entry[0] > time.monotonic():
            return host, entry[1]
        return host, await self._refresh(host, entry, at_least=None)

    async def resolve_current(self, host: str) -> tuple[str, TenantSite | None, int]:
        """(host, site, the catalog version to serve it at), the record stamped at least that version.

        What a page is built from (the module docstring): the version is the tenant's as
        remembered (origin/catalog_versions.py), and a record stamped older is read again.
        """
        host, site = await self.resolve(host)
        if site is None:
            return host, None, 0
        version = await self.services.catalog_versions.get(site.tenant.id)
        if self.is_current(host, site, version):
            return host, site, version
        fresh = await self._refresh(host, self._lru.get(host), at_least=(site.tenant.id, version))
        if fresh is None:
            return host, None, 0
        # The name may have changed hands meanwhile: the other tenant's record comes with its own stamp.
        return host, fresh, version if fresh.tenant.id == site.tenant.id else self._lru[host][2]

    def cached(self, host: str) -> tuple[str, TenantSite | None]:
        """The LRU's answer only, no I/O: (host, None) when it has none (or it expired)."""
        entry = self._lru.get(host)
        return host, entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def is_current(self, host: str, site: TenantSite, catalog_version: int) -> bool:
        """Whether ``site`` is still the LRU's record for ``host``, stamped at least ``catalog_version``; no I/O."""
        entry = self._lru.get(host)
        return entry is not None and entry[1] is site and entry[2] >= catalog_version and entry[0] > time.monotonic()

    async def _refresh(self, host: str, entry, *, at_least: tuple[int, int] | None) -> TenantSite | None:
        """Resolve through the shared cache (then the database) and keep it; ``at_least``: (tenant id, version)."""
        found = await self._resolve_shared(host, at_least)
        site, stamp = (found.site, found.catalog_version) if found is not None else (None, 0)
        if site is not None and entry is not None and entry[1] is not None and is_same_site(entry[1], site):
            site = entry[1]  # the same record: keep the object what is memoized on it is keyed by
        ttl = LRU_TTL_SECONDS if site is not None else min(LRU_TTL_SECONDS, NEGATIVE_TTL_SECONDS)
        self._lru[host] = (time.monotonic() + ttl, site, stamp)
        self._lru.move_to_end(host)
        while len(self._lru) > LRU_SIZE:
            self._lru.popitem(last=False)
        return site

    async def _resolve_shared(self, host: str, at_least: tuple[int, int] | None) -> StampedSite | None:
        cache = self.services.cache
        tenant_id = await cache.get(host_cache_key(host), INT)
        if tenant_id == 0:
            return None
        tenant = None
        if tenant_id is None:  # which tenant, from the database; its rows are read again after its version
            async with self.services.db.connect() as conn:
                tenant = await self._tenant_for_host(conn, host)
            if tenant is None:
                await cache.set(host_cache_key(host), 0, INT, ttl=NEGATIVE_TTL_SECONDS)
                return None
            tenant_id = tenant.id
        minimum = at_least[1] if at_least is not None and at_least[0] == tenant_id else None
        if tenant is None:
            stored = await cache.get(site_cache_key(tenant_id), SITE_CODEC)
            if stored is not None and (minimum is None or stored.catalog_version >= minimum):
                return stored
        # The version first, then the rows: the stamp never claims a change the rows may not show.
        version = minimum if minimum is not None else await self.services.catalog_versions.get(tenant_id)
        async with self.services.db.connect() as conn:
            tenant = await queries.select_tenant(conn, tenant_id)
            if tenant is None:
                await cache.set(host_cache_key(host), 0, INT, ttl=NEGATIVE_TTL_SECONDS)
                return None
            stamped = StampedSite(await self._load_site(conn, tenant), version)
        await cache.set(host_cache_key(host), tenant.id, INT, ttl=POSITIVE_TTL_SECONDS)
        await cache.set(site_cache_key(tenant.id), stamped, SITE_CODEC, ttl=POSITIVE_TTL_SECONDS)
        return stamped

    async def _tenant_for_host(self, conn, host: str) -> Tenant | None:
        slug = slug_from_platform_host(self.settings, host)
        if slug is not None:
            return await queries.select_tenant_by_slug(conn, slug)
        return await queries.select_tenant_by_active_domain(conn, host)

    async def _load_site(self, conn, tenant: Tenant) -> TenantSite:
        canonical = await queries.select_primary_domain(conn, tenant.id) or platform_host(self.settings, tenant.slug)
        overrides = await self._load_templates(conn, tenant.id) if self._load_templates else {}
        return TenantSite(
            tenant=tenant,
            canonical_host=canonical,
            base_url=public_base_url(self.settings, canonical),
            template_overrides=dict(overrides),
        )

    async def forget_tenant(self, tenant_id: int) -> None:
        """Drop every answer about this tenant: in this process and in the shared cache."""
        hosts = [host for host, (_, site, _) in self._lru.items() if site is not None and site.tenant.id == tenant_id]
        # Shared entries first: a resolve that misses the LRU afterwards must not refill it from them.
        await self.services.cache.delete(*(host_cache_key(host) for host in hosts), site_cache_key(tenant_id))
        for host in hosts:
            self._lru.pop(host, None)

    async def forget_host(self, host: str) -> None:
        """For the domains feature: a domain was activated, moved or removed."""
        host = normalize_host(host)
        await self.services.cache.delete(host_cache_key(host))
        self._lru.pop(host, None)

    def forget_everything(self) -> None:
        """After a resubscription: tenancy messages may have been missed, so no answer here is trusted."""
        self._lru.clear()

    async def _apply(self, message: str) -> None:
        try:
            decoded = json.loads(message)
            tenant_id = int(decoded["tenant_id"])
            # A name that changed hands (origin.invalidation.publish_tenant_change) goes whichever
            # tenant this process last saw it under; "removed_hostname" is the removal's own message.
            hosts = [*decoded.get("hosts", ()), *filter(None, [decoded.get("removed_hostname")])]
            if not all(isinstance(host, str) for host in hosts):
                raise TypeError("hosts must be strings")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring malformed tenancy message %r", message[:200])
            return
        await self.forget_tenant(tenant_id)
        for host in hosts:
            with contextlib.suppress(HostnameError):  # not a name: nothing of it is cached
                await self.forget_host(host)

    async def listen(self, ready: asyncio.Event | None = None) -> None:
        """Apply TENANCY_CHANNEL messages until cancelled (a background task per process), resubscribing."""

        async def reconnected() -> None:
            self.forget_everything()

        await follow(self.services.broadcast, TENANCY_CHANNEL, self._apply, on_reconnect=reconnected, ready=ready, name="tenancy")


@contextlib.asynccontextmanager
async def listening(resolver: TenantResolver):
    """Run ``resolver.listen`` in the background for the life of the block."""
    ready = asyncio.Event()
    task = asyncio.create_task(resolver.listen(ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    try:
        yield resolver
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

"""What we keep about a shopper: a daily visitor hash and a device class, nothing else.

Plausible's approach (issue 7): the visitor id is a keyed hash of IP + user agent
+ tenant, keyed with a salt that rotates every UTC day and lives only in the
cache (Redis on servers), so yesterday's ids cannot be recomputed once the salt
expires, and the same person is a different visitor on another store. The raw
IP and user agent are never stored or queued. A browser that sends
``DNT: 1`` or ``Sec-GPC: 1`` is not tracked at all; known bots are dropped.

:func:`admit` is the one decision every event source asks (the beacon, the
cart's and checkout's server-side events, orders): whether an event is kept
with the shopper's visitor and session, kept anonymously, or dropped.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Collection, Mapping

from edge import cache_keys
from origin.cache import Cache, CodecError

SALT_HEX = re.compile(rb"[0-9a-f]{64}")
SALT_TTL_SECONDS = 2 * 24 * 3600  # today's and yesterday's salt, for requests straddling midnight

# Substrings of user agents that are crawlers, monitors, link previews or scripts.
BOT_PATTERN = re.compile(
    r"bot|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|preview|monitor|pingdom|uptime|"
    r"headless|phantomjs|puppeteer|playwright|selenium|lighthouse|curl/|wget/|python-requests|python-httpx|"
    r"aiohttp|go-http-client|java/|okhttp|libwww|httpclient|scrapy|axios/|node-fetch",
    re.IGNORECASE,
)
TABLET_PATTERN = re.compile(r"ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))", re.IGNORECASE)
MOBILE_PATTERN = re.compile(r"mobi|iphone|ipod|android|blackberry|opera mini|iemobile|windows phone", re.IGNORECASE)


# Memoised (bounded): a store's traffic repeats a few hundred user agents, and these regexes were the
# largest share of a one-event beacon request (issue 14, item 3). A flood of distinct agents only evicts.
@functools.lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    return not user_agent.strip() or BOT_PATTERN.search(user_agent) is not None


@dataclass(frozen=True)
class Shopper:
    """What the request tells us about the shopper; never stored as such."""

    ip: str
    user_agent: str
    refuses_tracking: bool = False

    @property
    def is_bot(self) -> bool:
        return is_bot(self.user_agent)


class Admission(enum.Enum):
    TRACKED = "tracked"  # kept, with the shopper's daily visitor hash and session
    ANONYMOUS = "anonymous"  # kept with visitor and session 0: money that happened, nobody's trail
    DROPPED = "dropped"  # not kept at all


# Events that record money the store took: an order exists whoever placed it, so its
# revenue is kept even for a bot or a shopper who refuses tracking (anonymously).
MONEY_EVENTS = frozenset({"purchase"})


def admit(name: str, shopper: Shopper | None, page_host: str = "", store_hosts: Collection[str] = ()) -> Admission:
    """Keep, anonymise or drop one event; the same answer whichever source (beacon, cart, checkout) sends it.

    - a page URL on another site (``page_host`` set and not one of the store's
      hosts) is dropped: a script copied elsewhere, or a forger, must not fill
      this store's reports; server-side events carry no page host;
    - a bot or a shopper who refuses tracking (DNT / GPC): behaviour events
      (views, add to cart, checkout) are dropped, as the docs promise, on every
      source alike; money events are kept anonymously so revenue matches orders;
    - no shopper at all (a webhook-imported order, a call outside a request): anonymous.
    """
    if page_host and page_host not in store_hosts:
        return Admission.DROPPED
    if shopper is None:
        return Admission.ANONYMOUS
    if shopper.is_bot or shopper.refuses_tracking:
        return Admission.ANONYMOUS if name in MONEY_EVENTS else Admission.DROPPED
    return Admission.TRACKED


def refuses_tracking(headers: Mapping[str, str]) -> bool:
    """Do-Not-Track or Global Privacy Control."""
    return headers.get("DNT", "").strip() == "1" or headers.get("Sec-GPC", "").strip() == "1"


@functools.lru_cache(maxsize=4096)
def device_class(user_agent: str) -> str:
    if TABLET_PATTERN.search(user_agent):
        return "tablet"
    if MOBILE_PATTERN.search(user_agent):
        return "mobile"
    return "desktop"


def visitor_id(salt: bytes, tenant_id: int, ip: str, user_agent: str) -> int:
    """A 63-bit id, stable for one (store, IP, browser) within a salt's day; never 0 (0 is 'anonymous')."""
    digest = hashlib.blake2b(f"{tenant_id}\x1f{ip}\x1f{user_agent}".encode(), key=salt, digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 1) or 1


salt_key = cache_keys.salt_key


class SaltCodec:
    """A salt as its 64 hex characters (what every origin process reads back)."""

    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, data: bytes) -> str:
        if not SALT_HEX.fullmatch(data):
            raise CodecError("not a 32-byte hex salt")
        return data.decode()


SALT_CODEC = SaltCodec()


class DailySalts:
    """Today's salt from the shared cache, created by whichever process asks first.

    ``cache.add`` is set-if-absent (SET NX on Redis), so concurrent origins agree
    on one salt (stored as hex text). A salt is memoised in-process for its day:
    it never changes once set.
    """

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._known: dict[dt.date, bytes] = {}

    async def for_day(self, day: dt.date) -> bytes:
        salt = self._known.get(day)
        if salt is not None:
            return salt
        key = salt_key(day)
        value = await self._cache.get(key, SALT_CODEC)
        if value is None:
            fresh = secrets.token_hex(32)
            if not await self._cache.add(key, fresh, SALT_CODEC, ttl=SALT_TTL_SECONDS):
                value = await self._cache.get(key, SALT_CODEC)  # another process added it first
                if value is None:  # what is stored does not decode: no process can be using it
                    await self._cache.set(key, fresh, SALT_CODEC, ttl=SALT_TTL_SECONDS)
            value = value or fresh
        salt = bytes.fromhex(value)
        self._known = {d: s for d, s in self._known.items() if d >= day - dt.timedelta(days=1)}
        self._known[day] = salt
        return salt


def client_ip(remote_addr: str | None, forwarded_for: str, trusted_proxies: tuple[str, ...]) -> str:
    """The shopper's address: the peer, or the nearest untrusted hop of X-Forwarded-For behind trusted proxies."""
    address = remote_addr or ""
    if not trusted_proxies or not _is_trusted(address, trusted_proxies):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return address


@functools.lru_cache(maxsize=64)
def _networks(trusted_proxies: tuple[str, ...]) -> tuple:
    """The settings' proxy networks, parsed once (not per request); entries that do not parse are skipped."""
    parsed = []
    for network in trusted_proxies:
        try:
            parsed.append(ipaddress.ip_network(network, strict=False))
        except ValueError:
            continue
    return tuple(parsed)


@functools.lru_cache(maxsize=4096)  # the proxies' own few addresses repeat on every request
def _is_trusted(address: str, trusted_proxies: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(trusted_proxies))

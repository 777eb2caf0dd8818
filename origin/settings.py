"""Settings: the one reader of ``os.environ``.

Every process (web, worker, CLI, test) builds one frozen :class:`Settings` at
start-up and passes it in. Tests build ``Settings(...)`` directly.

Configuration mistakes raise :class:`ConfigurationError`, whose message names
the variable and what is wrong; the CLI prints that one line and exits 2, with
no traceback.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from origin.numbers import parse_bounded_int

ENV_PREFIX = "ZELLY_"
# Variables with the prefix that are not settings (read by the test suite, not by Zelly).
NOT_SETTINGS = frozenset({"ZELLY_REQUIRE_SERVICES"})


class ConfigurationError(Exception):
    """A setting is missing, malformed, or names a server that cannot be reached."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class Secret(str):
    """A string that never shows itself in a repr or a log line."""

    def __repr__(self) -> str:
        return "Secret('**********')" if self else "Secret('')"

    def reveal(self) -> str:
        return str.__str__(self)


def redact_url(url: str | None) -> str | None:
    """The URL with any password replaced, safe to log."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _secret_field(default: str = "") -> Secret:
    return field(default=Secret(default), repr=False)  # type: ignore[return-value]


@dataclass(frozen=True, repr=False)
class Settings:
    """Every ``ZELLY_*`` variable, with its embedded default.

    Each field's environment variable is ``ZELLY_`` + the field name in upper
    case; docs/configuration.md documents every one (a test keeps them in step).
    """

    # -- where the embedded defaults keep their files
    data_dir: Path = Path("var")

    # -- stores
    database_url: str = ""  # empty: SQLite files under data_dir/db
    database_schema_prefix: str = ""  # tests isolate MySQL databases with it
    redis_url: str = ""  # empty: in-process memory stand-ins
    # Socket timeout of every request-path Redis command (cache reads, dedupe, enqueue): a Redis that
    # stops answering costs a shopper this long once, then the circuit breaker skips it (origin/cache.py).
    redis_request_timeout_ms: int = 500
    # Longest wait for any answer from MariaDB (each read of a statement's reply, the handshake, the
    # pool's ping of an idle connection): a server that accepts and never answers costs a request this long, then 503
    # (origin/db/engine.py BoundedReadConnection; issue 12). Migrations are not bounded.
    database_read_timeout_ms: int = 10000
    analytics_url: str = ""  # empty: chDB under data_dir/analytics
    analytics_retention_days: int = 400

    # -- listeners
    platform_domain: str = "localhost"
    # The operator's statement that platform_domain is in the Public Suffix List (private section):
    # then each <slug>.<platform> is its own site, and store pages cannot set or read cookies of the
    # seller API's hosts (<platform>, api.<platform>). Required for a public platform domain
    # (docs/security.md, "Cookie scope").
    platform_domain_public_suffix: bool = False
    origin_bind: str = "127.0.0.1:8000"
    internal_bind: str = "127.0.0.1:8001"
    edge_bind: str = "127.0.0.1:8002"
    edge_upstream: str = "http://127.0.0.1:8000"
    http_port: int = 8080
    https_port: int = 8443
    public_scheme: str = "https"  # scheme of absolute URLs shoppers see

    # -- secrets
    secret_key: Secret = _secret_field()  # empty: generated once into data_dir
    secret_key_previous: Secret = _secret_field()  # after a rotation: still accepted, never used to sign
    internal_token: Secret = _secret_field()  # guards internal endpoints (purge, stats)

    # -- TLS and custom domains
    caddy_admin_url: str = "http://127.0.0.1:2019"
    acme_email: str = ""  # empty: Caddy's internal CA (local), set: ACME
    dns_resolvers: tuple[str, ...] = ()  # empty: the system's resolvers
    dns_target: str = ""  # CNAME target merchants point at; default edge.<platform_domain>
    platform_ips: tuple[str, ...] = ("127.0.0.1",)  # A/AAAA targets for apex domains

    # -- edge cache
    trusted_proxies: tuple[str, ...] = ()
    edge_cache_bytes: int = 256 * 1024 * 1024
    edge_tenant_quota_bytes: int = 32 * 1024 * 1024
    # The origin's rendered pages in its own memory (origin/web/storefront/page_cache.py's page tier; the
    # product-page memo gets half as much on top): bounded LRUs, sized here so the soak can fill them.
    origin_page_cache_bytes: int = 32 * 1024 * 1024
    # The edge's own listener for /internal/edge/purge and /stats (never the public one).
    edge_internal_bind: str = "127.0.0.1:8003"
    # The edge's Redis tier on its own Redis (maxmemory-policy allkeys-lru), apart from
    # queues, carts and dedupe keys; empty: ZELLY_REDIS_URL. Purges still come over ZELLY_REDIS_URL.
    edge_redis_url: str = ""

    # -- Cloudflare (purge adapter); empty token disables it
    cloudflare_api_token: Secret = _secret_field()
    cloudflare_zone_id: str = ""
    cloudflare_api_base: str = "https://api.cloudflare.com/client/v4"
    cloudflare_purge_batch: int = 100
    cloudflare_plan: str = "free"  # paces purges to the plan's limits (edge/cloudflare.py)

    # -- Shopify
    shopify_api_base_url: str = ""  # empty: https://<shop>.myshopify.com
    shopify_api_version: str = "2025-10"

    # -- task queues (workers/)
    task_reclaim_idle_seconds: int = 15  # a dead worker's unacknowledged task runs again after this
    # Above this many unacknowledged entries in a task stream (or store-events), intake answers 503 so
    # the sender retries later: streams are never trimmed (trimming drops accepted work, issue 12).
    task_backlog_limit: int = 100_000

    # -- email (origin/outbox): the SMTP server the outbox sends through; `zelly dev` runs one on loopback
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_username: str = ""
    smtp_password: Secret = _secret_field()
    smtp_starttls: str = "auto"  # auto: when the server offers it; always: refuse to send without it; never
    mail_from: str = "no-reply@localhost"  # the sender address; each store's name is its display name

    # -- logging, metrics, traces (observability/, docs/operations.md)
    log_level: str = "INFO"
    # The internal listener (/metrics, /livez, /readyz) of a process without an HTTP app: each taskiq
    # worker, the scheduler and `zelly analytics consume`. Give each deployment on a host its own port.
    worker_internal_bind: str = "127.0.0.1:8004"
    metrics_top_tenants: int = 10  # tenants named in request metrics (the rest are "other")
    otlp_endpoint: str = ""  # empty: no traces; set: spans go to <endpoint>/v1/traces (OTLP/HTTP)

    # -- rate limits (origin/ratelimit.py, docs/security.md): "<requests>/<seconds>", a token bucket of that
    # many requests refilled over that many seconds; per client IP, per API token, per tenant.
    rate_limit_api_ip: str = "1200/60"  # every /api/v1 request from one address, signed in or not
    rate_limit_api_token: str = "600/60"  # one API token
    rate_limit_api_tenant: str = "1200/60"  # all of one tenant's tokens together
    rate_limit_events_ip: str = "240/60"  # POST /events from one address (a shopper sends a few a page)
    rate_limit_events_tenant: str = "30000/60"  # POST /events to one store from everywhere
    rate_limit_webhooks_ip: str = "6000/60"  # POST /webhooks/shopify from one address (Shopify's senders)
    rate_limit_webhooks_tenant: str = "30000/60"  # signed deliveries to one tenant (charged after the HMAC check)
    rate_limit_cart_ip: str = "120/60"  # cart writes (add, update, remove) from one address
    rate_limit_cart_tenant: str = "12000/60"  # cart writes to one store from everywhere
    rate_limit_domain_verify_tenant: str = "20/60"  # "verify now" (DNS lookups) for one tenant's domains
    rate_limit_theme_write_tenant: str = "30/60"  # theme template PUTs (each test-renders, up to 1 s) for one tenant

    # -- payments (origin/payments/): Stripe is offered at checkout only when a secret key is set
    stripe_secret_key: Secret = _secret_field()
    stripe_webhook_secret: Secret = _secret_field()  # whsec_..., checks the Stripe-Signature header
    stripe_api_base: str = "https://api.stripe.com"  # tests point it at their fake
    payment_timeout_seconds: int = 10  # every call to a payment provider
    # An online payment (Stripe) not made this long after the order was placed is expired at the
    # provider and the order voided, its stock given back (origin/orders/unpaid.py).
    unpaid_order_timeout_seconds: int = 3600

    def __post_init__(self) -> None:
        # Accept plain strings from tests and callers; fields keep their declared types.
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        for name in ("secret_key", "secret_key_previous", "internal_token", "cloudflare_api_token", "smtp_password",
                     "stripe_secret_key", "stripe_webhook_secret"):
            object.__setattr__(self, name, Secret(getattr(self, name)))
        for name in ("dns_resolvers", "platform_ips", "trusted_proxies"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def __repr__(self) -> str:
        shown = []
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, Secret):
                value = Secret(value)  # its repr hides it
            elif spec.name.endswith("_url"):
                value = redact_url(value)
            shown.append(f"{spec.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    def secret_values(self) -> tuple[str, ...]:
        """Every secret this process was given (Secret fields, passwords inside URLs): what logs must never show."""
        values = [value.reveal() for value in (getattr(self, spec.name) for spec in dataclasses.fields(self)) if isinstance(value, Secret)]
        for spec in dataclasses.fields(self):
            if spec.name.endswith("_url") and getattr(self, spec.name):
                password = urlsplit(getattr(self, spec.name)).password
                if password:
                    values.append(password)
        return tuple(value for value in values if value)

    @property
    def dns_cname_target(self) -> str:
        return self.dns_target or f"edge.{self.platform_domain}"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'db' / 'main.sqlite3'}"

    @property
    def effective_analytics_url(self) -> str:
        if self.analytics_url:
            return self.analytics_url
        return f"chdb://{self.data_dir / 'analytics'}"

    @property
    def uses_embedded_database(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def replace(self, **changes: object) -> "Settings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> "Settings":
        """Read ``ZELLY_*`` variables (a ``.env`` file fills in what the environment lacks)."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update(_read_env_file(env_file))
        source = os.environ if environ is None else environ
        values.update({k: v for k, v in source.items() if k.startswith(ENV_PREFIX)})
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, object] = {}
        for variable, raw in values.items():
            name = variable[len(ENV_PREFIX):].lower()
            if name not in known:
                if variable in NOT_SETTINGS or variable.startswith("ZELLY_TEST_"):
                    continue  # the test suite's own variables share the prefix
                # A misspelt variable would otherwise silently fall back to a default.
                guess = difflib.get_close_matches(name, known, n=1)
                hint = f"; did you mean ZELLY_{guess[0].upper()}?" if guess else ""
                raise ConfigurationError(variable, f"not a Zelly setting{hint} (see docs/configuration.md)")
            kwargs[name] = _parse(variable, known[name], raw)
        settings = cls(**kwargs)
        settings.validate()
        settings._refuse_overlaps(source, set_here=set(kwargs))
        return settings

    def _refuse_overlaps(self, environ: Mapping[str, str], *, set_here: set[str]) -> None:
        """A variable of Caddy's that says something else than the Zelly setting for the same thing.

        ``CADDY_ADMIN`` is what the Caddyfile reads; Zelly renders it from ZELLY_CADDY_ADMIN_URL when
        it starts Caddy (tls/caddy_process.py) and calls that address for certificates. Both set and
        different, one of them is ignored without a word: refused (issue 19, item 8). The other
        overlaps, and which one wins, are listed in docs/configuration.md ("Overlapping settings").
        """
        caddy_admin = environ.get("CADDY_ADMIN", "").strip()
        ours = urlsplit(self.caddy_admin_url).netloc
        if caddy_admin and caddy_admin != ours:
            which = "" if "caddy_admin_url" in set_here else " (its default)"
            raise ConfigurationError(
                "CADDY_ADMIN",
                f"is {caddy_admin!r} but ZELLY_CADDY_ADMIN_URL is {self.caddy_admin_url!r}{which}; Zelly starts and calls "
                f"Caddy's admin API at ZELLY_CADDY_ADMIN_URL: set ZELLY_CADDY_ADMIN_URL=http://{caddy_admin} and drop CADDY_ADMIN "
                "from Zelly's environment",
            )

    def validate(self) -> None:
        """Check everything that can be checked without a network."""
        url = self.effective_database_url
        if urlsplit(url).scheme not in ("sqlite+aiosqlite", "mysql+aiomysql"):
            raise ConfigurationError(
                "ZELLY_DATABASE_URL",
                f"unsupported scheme in {redact_url(url)!r}; use mysql+aiomysql://user:pass@host/ or leave it empty for SQLite",
            )
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss"):
            raise ConfigurationError("ZELLY_REDIS_URL", f"expected redis://host:port/db, got {redact_url(self.redis_url)!r}")
        if urlsplit(self.effective_analytics_url).scheme not in ("chdb", "http", "https", "clickhouse"):
            raise ConfigurationError(
                "ZELLY_ANALYTICS_URL", f"expected http(s)://host:8123 or chdb://path, got {redact_url(self.analytics_url)!r}"
            )
        if self.edge_redis_url and urlsplit(self.edge_redis_url).scheme not in ("redis", "rediss"):
            raise ConfigurationError("ZELLY_EDGE_REDIS_URL", f"expected redis://host:port/db, got {redact_url(self.edge_redis_url)!r}")
        for name in ("origin_bind", "internal_bind", "edge_bind", "edge_internal_bind", "worker_internal_bind"):
            _parse_bind(f"ZELLY_{name.upper()}", getattr(self, name))
        for name in ("http_port", "https_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise ConfigurationError(f"ZELLY_{name.upper()}", f"port {port} is outside 1-65535")
        for address in self.platform_ips:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigurationError("ZELLY_PLATFORM_IPS", f"{address!r} is not an IP address") from None
        if self.cloudflare_purge_batch not in (30, 100):
            raise ConfigurationError("ZELLY_CLOUDFLARE_PURGE_BATCH", "Cloudflare accepts 30 or 100 purge operations per call")
        if self.cloudflare_plan not in ("free", "pro", "business", "enterprise"):
            raise ConfigurationError("ZELLY_CLOUDFLARE_PLAN", "expected free, pro, business or enterprise")
        if self.public_scheme not in ("http", "https"):
            raise ConfigurationError("ZELLY_PUBLIC_SCHEME", "expected http or https")
        if not 1 <= self.smtp_port <= 65535:
            raise ConfigurationError("ZELLY_SMTP_PORT", f"port {self.smtp_port} is outside 1-65535")
        if self.smtp_starttls not in ("auto", "always", "never"):
            raise ConfigurationError("ZELLY_SMTP_STARTTLS", "expected auto, always or never")
        if self.mail_from.count("@") != 1 or any(c in self.mail_from for c in " <>\r\n"):
            raise ConfigurationError("ZELLY_MAIL_FROM", f"expected one address like orders@shops.example.com, got {self.mail_from!r}")
        if not 0 <= self.metrics_top_tenants <= 100:
            raise ConfigurationError("ZELLY_METRICS_TOP_TENANTS", "expected 0-100 (each named tenant adds series)")
        if self.otlp_endpoint and urlsplit(self.otlp_endpoint).scheme not in ("http", "https"):
            raise ConfigurationError("ZELLY_OTLP_ENDPOINT", f"expected http(s)://collector:4318, got {self.otlp_endpoint!r}")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigurationError("ZELLY_LOG_LEVEL", "expected DEBUG, INFO, WARNING or ERROR")
        for spec in dataclasses.fields(self):
            if spec.name.startswith("rate_limit_"):
                parse_rate(f"ZELLY_{spec.name.upper()}", getattr(self, spec.name))
        if not self.is_dev:
            self._refuse_weak_secrets()
        if not self.is_dev and not self.platform_domain_public_suffix:
            # The seller API answers on the platform domain and api.<it>, the parent and a sibling of
            # every store host: without the PSL entry, a store's script sets cookies they receive.
            domain = self.platform_domain.strip(".").lower()
            raise ConfigurationError(
                "ZELLY_PLATFORM_DOMAIN",
                f"stores at <slug>.{domain} would share a site with the seller API at {domain} and api.{domain}; "
                f"list {domain} in the Public Suffix List (private section) and set ZELLY_PLATFORM_DOMAIN_PUBLIC_SUFFIX=true "
                "(docs/security.md, \"Cookie scope\")",
            )

    @property
    def is_dev(self) -> bool:
        """A platform on a name that can never be public (:func:`is_public_name`): ``localhost``, ``*.test``, an IP…

        That is ``zelly dev``, the test suite and a laptop: there an empty
        ZELLY_SECRET_KEY is generated into the data directory and the internal
        listeners answer loopback clients without a token. A platform on a real
        domain serves strangers, so its secrets must be set and strong.
        """
        return not is_public_name(self.platform_domain)

    def _refuse_weak_secrets(self) -> None:
        """Start-up refuses empty, placeholder or short secrets outside dev (issue 13, item 3)."""
        for name in REQUIRED_SECRETS:
            value = getattr(self, name).reveal()
            variable = f"ZELLY_{name.upper()}"
            if not value:
                raise ConfigurationError(variable, f"must be set when the platform domain is public; {HOW_TO_MAKE_A_SECRET}")
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            variable = f"ZELLY_{spec.name.upper()}"
            if spec.name == "secret_key_previous":
                continue  # the weak secret being rotated out: refusing it would break the rotation away from it
            if isinstance(value, Secret) and value:
                if is_placeholder(value.reveal()):
                    raise ConfigurationError(variable, f"is a placeholder, not a secret; {HOW_TO_MAKE_A_SECRET}")
                if spec.name in REQUIRED_SECRETS and len(value.reveal().encode()) < MIN_SECRET_BYTES:
                    raise ConfigurationError(
                        variable, f"is {len(value.reveal().encode())} bytes; use at least {MIN_SECRET_BYTES}; {HOW_TO_MAKE_A_SECRET}")
            elif spec.name.endswith("_url") and isinstance(value, str) and value:
                password = urlsplit(value).password
                if password and is_placeholder(password):
                    raise ConfigurationError(variable, f"the password in {redact_url(value)!r} is a placeholder")


# Names no public CA or browser treats as a registrable domain (RFC 6761, RFC 8375, RFC 6762, ICANN's .internal).
_LOCAL_SUFFIXES = ("localhost", "test", "example", "invalid", "internal", "local", "home.arpa")


def is_public_name(hostname: str) -> bool:
    """Whether ``hostname`` can be a public registrable domain: not one label, an IP or a special-use name."""
    name = hostname.strip(".").lower()
    try:
        ipaddress.ip_address(name.strip("[]"))
        return False
    except ValueError:
        pass
    return "." in name and not any(name == suffix or name.endswith("." + suffix) for suffix in _LOCAL_SUFFIXES)


def parse_rate(variable: str, value: str) -> tuple[int, float]:
    """``"600/60"`` -> (600 requests, 60 seconds): the capacity of a token bucket and the time it takes to refill."""
    count, sep, seconds = value.strip().partition("/")
    # ASCII digits: isdigit() let '²' through to int(), a traceback instead of this line naming the variable.
    requests, period = parse_bounded_int(count.strip(), low=1), parse_bounded_int(seconds.strip(), low=1)
    if not sep or requests is None or period is None:
        raise ConfigurationError(variable, f"expected <requests>/<seconds> such as 600/60, got {value!r}")
    return requests, float(period)


# The secrets Zelly itself needs outside dev (every unit reads the one environment file), and how long they must be (HKDF input
# and bearer token: 32 bytes is 256 bits when random; `zelly secret generate`-style values are 64).
REQUIRED_SECRETS = ("secret_key", "internal_token")
MIN_SECRET_BYTES = 32
HOW_TO_MAKE_A_SECRET = "make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
# What the example files and tutorials ship; a value containing one of these (case, '-' and '_' aside)
# was never meant to stay.
# was never meant to stay. Words of four letters or fewer would turn up in random secrets: exact matches only.
PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "example", "yoursecret", "secrethere", "xxxxxx")
PLACEHOLDER_VALUES = frozenset({"secret", "password", "token", "test", "dummy", "default", "none", "null", "admin", "todo", "fixme"})


def is_placeholder(value: str) -> bool:
    folded = "".join(c for c in value.lower() if c.isalnum())
    return (
        folded in PLACEHOLDER_VALUES
        or any(word in folded for word in PLACEHOLDER_WORDS)
        or len(set(value)) <= 2  # "aaaa…", "0000…", "abab…"
    )


def parse_bind(value: str, variable: str = "bind") -> tuple[str, int]:
    return _parse_bind(variable, value)


def _parse_bind(variable: str, value: str) -> tuple[str, int]:
    host, sep, raw_port = value.rpartition(":")
    port = parse_bounded_int(raw_port, high=65535)
    if not sep or not host or port is None:
        raise ConfigurationError(variable, f"expected host:port, got {value!r}")
    return host.strip("[]"), port


def _parse(variable: str, spec: dataclasses.Field, raw: str) -> object:
    kind = spec.type if isinstance(spec.type, str) else getattr(spec.type, "__name__", str(spec.type))
    raw = raw.strip()
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigurationError(variable, f"expected a whole number, got {raw!r}") from None
    if kind == "bool":
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("", "0", "false", "no", "off"):
            return False
        raise ConfigurationError(variable, f"expected true or false, got {raw!r}")
    if kind == "Path":
        return Path(raw)
    if kind == "Secret":
        return Secret(raw)
    if kind.startswith("tuple"):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values

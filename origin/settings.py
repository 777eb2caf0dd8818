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
    analytics_url: str = ""  # empty: chDB under data_dir/analytics
    analytics_retention_days: int = 400

    # -- listeners
    platform_domain: str = "localhost"
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

    # -- logging
    log_level: str = "INFO"

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
        for name in ("secret_key", "secret_key_previous", "internal_token", "cloudflare_api_token", "smtp_password"):
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
        return settings

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
        for name in ("origin_bind", "internal_bind", "edge_bind", "edge_internal_bind"):
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
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigurationError("ZELLY_LOG_LEVEL", "expected DEBUG, INFO, WARNING or ERROR")


def parse_bind(value: str) -> tuple[str, int]:
    return _parse_bind("bind", value)


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

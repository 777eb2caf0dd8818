"""Relational tables (SQLAlchemy Core) and the engine that serves them.

One code path for MySQL (aiomysql) and the embedded SQLite (aiosqlite). The
three logical schemas of the platform Zelly replaces are three MySQL databases,
or three SQLite files attached to one connection:

- ``astro_primary``: tenants, API tokens, domains, catalog, orders, Shopify;
- ``ecom_store_front``: customers, sessions, addresses;
- ``backoffice``: daily per-tenant aggregates, task dead letters.

Tables carry the logical schema name; :func:`create_engine` maps it to the real
database name (``database_schema_prefix`` lets tests run in private databases).
No foreign key crosses a schema: SQLite cannot enforce one across attached files.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

ASTRO_PRIMARY = "astro_primary"
ECOM_STORE_FRONT = "ecom_store_front"
BACKOFFICE = "backoffice"
SCHEMAS = (ASTRO_PRIMARY, ECOM_STORE_FRONT, BACKOFFICE)

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# SQLite only aliases rowid (and so auto-increments) for a column typed INTEGER.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator):
    """Stores naive UTC, hands back aware UTC: MySQL DATETIME and SQLite keep no zone."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class Money(sa.TypeDecorator):
    """DECIMAL(18,4) that always comes back as ``Decimal``; the currency lives beside it."""

    impl = sa.Numeric(18, 4, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return Decimal(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(value).quantize(Decimal("0.0001"))


# TEXT holds 64 KB on MySQL, less than the catalog accepts for a description (256 KB) and
# than an API answer replayed for an Idempotency-Key can be; MEDIUMTEXT holds 16 MB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    ]


def _tenant_id() -> sa.Column:
    return sa.Column("tenant_id", Id, nullable=False)


# --------------------------------------------------------------------------- astro_primary

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.String(63), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("locale", sa.String(35), nullable=False, default="en-US"),
    sa.Column("status", sa.String(16), nullable=False, default="active"),  # active | suspended
    sa.Column("contact_email", sa.String(255), nullable=True),
    sa.Column("theme_settings", sa.JSON, nullable=False, default=dict),
    sa.Column("suspended_at", UTCDateTime, nullable=True),
    *_timestamps(),
    schema=ASTRO_PRIMARY,
)

tenant_api_tokens = sa.Table(
    "tenant_api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("name", sa.String(100), nullable=False, default="default"),
    sa.Column("token_prefix", sa.String(16), nullable=False),  # shown in listings, never the whole token
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    schema=ASTRO_PRIMARY,
)

domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("hostname", sa.String(253), nullable=False, unique=True),  # normalized, IDNA (punycode)
    sa.Column("status", sa.String(16), nullable=False, default="pending"),  # pending | active | failed
    sa.Column("is_primary", sa.Boolean, nullable=False, default=False),
    sa.Column("verification_token", sa.String(64), nullable=False),
    sa.Column("failure_reason", sa.String(500), nullable=True),
    sa.Column("check_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_checked_at", UTCDateTime, nullable=True),
    sa.Column("next_check_at", UTCDateTime, nullable=True),
    sa.Column("verified_at", UTCDateTime, nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id"),
    schema=ASTRO_PRIMARY,
)

products = sa.Table(
    "products",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("handle", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("description_html", LongText, nullable=False, default=""),
    sa.Column("vendor", sa.String(255), nullable=False, default=""),
    sa.Column("product_type", sa.String(255), nullable=False, default=""),
    sa.Column("tags", sa.String(1000), nullable=False, default=""),  # comma-separated, lower-case
    sa.Column("status", sa.String(16), nullable=False, default="active"),  # active | draft | archived
    sa.Column("option1_name", sa.String(255), nullable=True),
    sa.Column("option2_name", sa.String(255), nullable=True),
    sa.Column("option3_name", sa.String(255), nullable=True),
    # Denormalized from variants by the catalog actions, so listings sort and filter in one query.
    sa.Column("price_min", Money, nullable=False, default=Decimal("0")),
    sa.Column("price_max", Money, nullable=False, default=Decimal("0")),
    sa.Column("compare_at_price_min", Money, nullable=True),  # compare-at of the cheapest variant
    sa.Column("is_available", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    sa.Column("published_at", UTCDateTime, nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "handle"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    sa.Index(None, "tenant_id", "price_min"),
    sa.Index(None, "tenant_id", "title"),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

variants = sa.Table(
    "variants",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("sku", sa.String(255), nullable=True),
    sa.Column("option1", sa.String(255), nullable=True),
    sa.Column("option2", sa.String(255), nullable=True),
    sa.Column("option3", sa.String(255), nullable=True),
    sa.Column("price", Money, nullable=False),
    sa.Column("compare_at_price", Money, nullable=True),
    sa.Column("position", sa.Integer, nullable=False, default=1),
    # Inventory lives on the variant (one location); `continue` sells past zero.
    sa.Column("inventory_quantity", sa.Integer, nullable=False, default=0),
    sa.Column("inventory_policy", sa.String(16), nullable=False, default="deny"),  # deny | continue
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    sa.Index(None, "tenant_id", "product_id"),
    schema=ASTRO_PRIMARY,
)

product_images = sa.Table(
    "product_images",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("alt", sa.String(512), nullable=False, default=""),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("position", sa.Integer, nullable=False, default=1),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "product_id"),
    schema=ASTRO_PRIMARY,
)

collections = sa.Table(
    "collections",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("handle", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("description_html", LongText, nullable=False, default=""),
    sa.Column("image_url", sa.String(2048), nullable=True),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "handle"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

collection_products = sa.Table(
    "collection_products",
    metadata,
    _tenant_id(),
    sa.Column("collection_id", Id, nullable=False),
    sa.Column("product_id", Id, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("collection_id", "product_id"),
    sa.ForeignKeyConstraint(["collection_id"], [f"{ASTRO_PRIMARY}.collections.id"], ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["product_id"], [f"{ASTRO_PRIMARY}.products.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "collection_id", "position"),
    sa.Index(None, "product_id"),
    schema=ASTRO_PRIMARY,
)

theme_templates = sa.Table(
    "theme_templates",
    metadata,
    _tenant_id(),
    sa.Column("name", sa.String(255), nullable=False),  # e.g. "product.html"
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "name"),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)

api_idempotency_keys = sa.Table(
    "api_idempotency_keys",
    metadata,
    _tenant_id(),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("request_fingerprint", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_body", LongText, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "key"),
    schema=ASTRO_PRIMARY,
)

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("total_price", Money, nullable=False),
    sa.Column("financial_status", sa.String(32), nullable=True),
    sa.Column("fulfillment_status", sa.String(32), nullable=True),
    sa.Column("customer_id", Id, nullable=True),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    sa.Column("shopify_updated_at", UTCDateTime, nullable=True),
    sa.Column("payload", sa.JSON, nullable=True),
    *_timestamps(),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    sa.UniqueConstraint("tenant_id", "number"),
    sa.UniqueConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

shopify_connections = sa.Table(
    "shopify_connections",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True, autoincrement=False),
    sa.Column("shop_domain", sa.String(255), nullable=False, unique=True),
    sa.Column("access_token_encrypted", sa.Text, nullable=False),
    sa.Column("webhook_secret_encrypted", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="connected"),  # connected | disconnected
    sa.Column("connected_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("disconnected_at", UTCDateTime, nullable=True),
    sa.Column("last_synced_at", UTCDateTime, nullable=True),
    sa.ForeignKeyConstraint(["tenant_id"], [f"{ASTRO_PRIMARY}.tenants.id"], ondelete="CASCADE"),
    schema=ASTRO_PRIMARY,
)

shopify_webhook_deliveries = sa.Table(
    "shopify_webhook_deliveries",
    metadata,
    _tenant_id(),
    sa.Column("webhook_id", sa.String(100), nullable=False),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("processed_at", UTCDateTime, nullable=True),
    sa.PrimaryKeyConstraint("tenant_id", "webhook_id"),
    schema=ASTRO_PRIMARY,
)

shopify_sync_runs = sa.Table(
    "shopify_sync_runs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("kind", sa.String(16), nullable=False),  # full | incremental | bulk
    sa.Column("state", sa.String(16), nullable=False, default="queued"),  # queued | running | succeeded | failed
    sa.Column("cursor", sa.String(1024), nullable=True),
    sa.Column("since", UTCDateTime, nullable=True),
    sa.Column("bulk_operation_id", sa.String(255), nullable=True),
    sa.Column("products_seen", sa.Integer, nullable=False, default=0),
    sa.Column("products_written", sa.Integer, nullable=False, default=0),
    sa.Column("products_deleted", sa.Integer, nullable=False, default=0),
    sa.Column("collections_seen", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("started_at", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    *_timestamps(),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

# --------------------------------------------------------------------------- ecom_store_front

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("email", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("first_name", sa.String(255), nullable=False, default=""),
    sa.Column("last_name", sa.String(255), nullable=False, default=""),
    sa.Column("accepts_marketing", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_gid", sa.String(100), nullable=True),
    *_timestamps(),
    sa.UniqueConstraint("tenant_id", "email"),
    schema=ECOM_STORE_FRONT,
)

customer_sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.ForeignKeyConstraint(["customer_id"], [f"{ECOM_STORE_FRONT}.customers.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "customer_id"),
    schema=ECOM_STORE_FRONT,
)

addresses = sa.Table(
    "addresses",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False, default=""),
    sa.Column("line1", sa.String(255), nullable=False),
    sa.Column("line2", sa.String(255), nullable=False, default=""),
    sa.Column("city", sa.String(255), nullable=False),
    sa.Column("region", sa.String(255), nullable=False, default=""),
    sa.Column("postal_code", sa.String(32), nullable=False, default=""),
    sa.Column("country_code", sa.String(2), nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False, default=False),
    *_timestamps(),
    sa.ForeignKeyConstraint(["customer_id"], [f"{ECOM_STORE_FRONT}.customers.id"], ondelete="CASCADE"),
    sa.Index(None, "tenant_id", "customer_id"),
    schema=ECOM_STORE_FRONT,
)

# --------------------------------------------------------------------------- backoffice

daily_tenant_aggregates = sa.Table(
    "daily_tenant_aggregates",
    metadata,
    _tenant_id(),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("visitors", sa.Integer, nullable=False, default=0),
    sa.Column("sessions", sa.Integer, nullable=False, default=0),
    sa.Column("page_views", sa.Integer, nullable=False, default=0),
    sa.Column("product_views", sa.Integer, nullable=False, default=0),
    sa.Column("add_to_carts", sa.Integer, nullable=False, default=0),
    sa.Column("purchases", sa.Integer, nullable=False, default=0),
    sa.Column("revenue", Money, nullable=False, default=Decimal("0")),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("computed_at", UTCDateTime, nullable=False, default=utcnow),
    sa.PrimaryKeyConstraint("tenant_id", "day"),
    schema=BACKOFFICE,
)

task_dead_letters = sa.Table(
    "task_dead_letters",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("tenant_id", Id, nullable=True),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("task_name", sa.String(255), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Column("replayed_at", UTCDateTime, nullable=True),
    sa.Index(None, "queue", "created_at"),
    schema=BACKOFFICE,
)


# --------------------------------------------------------------------------- shopify (issue 6)

# A Shopify delete, remembered so a late, older update cannot bring the row back.
shopify_tombstones = sa.Table(
    "shopify_tombstones",
    metadata,
    _tenant_id(),
    sa.Column("shopify_gid", sa.String(100), nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

# inventory_levels/update names an inventory item, not a variant: this maps one to the other.
shopify_inventory_items = sa.Table(
    "shopify_inventory_items",
    metadata,
    _tenant_id(),
    sa.Column("inventory_item_gid", sa.String(100), nullable=False),
    sa.Column("variant_gid", sa.String(100), nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "inventory_item_gid"),
    schema=ASTRO_PRIMARY,
)

# Products a full sync has seen, so the end of the run can delete the rest (survives a crash).
shopify_sync_seen = sa.Table(
    "shopify_sync_seen",
    metadata,
    sa.Column("run_id", Id, nullable=False),
    sa.Column("shopify_gid", sa.String(100), nullable=False),
    sa.PrimaryKeyConstraint("run_id", "shopify_gid"),
    schema=ASTRO_PRIMARY,
)

# What each mandatory compliance webhook did (the data export lives here for the merchant).
shopify_compliance_requests = sa.Table(
    "shopify_compliance_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    _tenant_id(),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("customer_email", sa.String(255), nullable=True),
    sa.Column("result", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
    sa.Index(None, "tenant_id", "created_at"),
    schema=ASTRO_PRIMARY,
)

# The shop's own settings as last fetched from Shopify.
shopify_shop_snapshots = sa.Table(
    "shopify_shop_snapshots",
    metadata,
    sa.Column("tenant_id", Id, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("email", sa.String(255), nullable=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("storefront_url", sa.String(2048), nullable=True),
    sa.Column("fetched_at", UTCDateTime, nullable=False, default=utcnow),
    schema=ASTRO_PRIMARY,
)


# --------------------------------------------------------------------------- engine


def schema_names(prefix: str) -> dict[str, str]:
    """Logical schema -> real database (MySQL) or attached file alias (SQLite)."""
    return {schema: f"{prefix}{schema}" for schema in SCHEMAS}


def sqlite_directory(url: sa.engine.URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:"):
        raise ValueError("the embedded database needs a file path, not :memory:")
    return Path(database).resolve().parent


def create_engine(url: str, schema_prefix: str = "", *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = sa.engine.make_url(url)
    names = schema_names(schema_prefix)
    if parsed.get_backend_name() == "sqlite":
        directory = sqlite_directory(parsed)
        directory.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(parsed, echo=echo, connect_args={"timeout": 30})
        _attach_sqlite_schemas(engine, directory, names)
    else:
        engine = create_async_engine(
            parsed.update_query_dict({"charset": "utf8mb4"}),
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=3600,
            pool_pre_ping=True,
        )
    return engine.execution_options(schema_translate_map=names)


def _attach_sqlite_schemas(engine: AsyncEngine, directory: Path, names: dict[str, str]) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # pragma: no branch - runs per connection
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        for real in names.values():
            cursor.execute(f"ATTACH DATABASE '{directory / (real + '.sqlite3')}' AS \"{real}\"")
            cursor.execute(f'PRAGMA "{real}".journal_mode = WAL')
        cursor.close()


async def create_mysql_databases(url: str, schema_prefix: str = "") -> None:
    """CREATE DATABASE for the three schemas (idempotent); MySQL only."""
    server = sa.engine.make_url(url).set(database=None)
    engine = create_async_engine(server)
    try:
        async with engine.begin() as conn:
            for real in schema_names(schema_prefix).values():
                await conn.exec_driver_sql(
                    f"CREATE DATABASE IF NOT EXISTS `{real}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                )
    finally:
        await engine.dispose()


async def drop_mysql_databases(url: str, schema_prefix: str) -> None:
    server = sa.engine.make_url(url).set(database=None)
    engine = create_async_engine(server)
    try:
        async with engine.begin() as conn:
            for real in schema_names(schema_prefix).values():
                await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{real}`")
    finally:
        await engine.dispose()

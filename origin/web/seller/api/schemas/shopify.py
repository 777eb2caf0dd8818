"""Request and response models for the Shopify connection, sync runs and settings.

The request models check only the JSON shape; what makes a shop domain, token
or secret acceptable is decided by ``origin.shopify.connections``, whose errors
come back on the field's path with their own codes (``invalid_shop_domain``,
``invalid_token``, ``invalid_webhook_secret``). The token and the webhook
secret are write-only: no response model has a field that could carry them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr

from origin.shopify.models import Connection, SettingsRun, SyncRun
from origin.shopify.shop_settings import Change
from origin.web.seller.api.schemas.common import STRICT, Timestamp


class ConnectionIn(BaseModel):
    """Connect (or reconnect) the store to a Shopify shop; replaces the previous connection."""

    model_config = STRICT

    shop_domain: str = Field(examples=["acme.myshopify.com"], description="the shop's <name>.myshopify.com domain")
    access_token: SecretStr = Field(
        examples=["shpat_0123456789abcdef"], description="the Admin API access token (8-255 characters); stored encrypted, never shown"
    )
    webhook_secret: SecretStr = Field(
        examples=["whsec_0123456789abcdef"], description="the app's webhook signing secret (8-255 characters); stored encrypted, never shown"
    )


class ConnectionOut(BaseModel):
    """The store's Shopify connection: `disconnected` after the app was uninstalled. Never the token or secret."""

    shop_domain: str
    status: Literal["connected", "disconnected"]
    connected_at: Timestamp
    disconnected_at: Timestamp | None
    last_synced_at: Timestamp | None

    @classmethod
    def build(cls, connection: Connection) -> "ConnectionOut":
        return cls(
            shop_domain=connection.shop_domain,
            status=connection.status,
            connected_at=connection.connected_at,
            disconnected_at=connection.disconnected_at,
            last_synced_at=connection.last_synced_at,
        )


class SyncIn(BaseModel):
    """Which sync to run: `full` (every product, deletes what Shopify no longer has), `incremental` (changed since the last success), `bulk` (a bulk operation, for large catalogs)."""

    model_config = STRICT

    kind: Literal["full", "incremental", "bulk"] = "full"


class SyncOut(BaseModel):
    """A sync run: `queued`, `running`, then `succeeded`, `failed` (with `error`: also when its task was given up on, or it made no progress for 15 minutes) or `cancelled`; counts grow as pages commit."""

    id: int
    kind: Literal["full", "incremental", "bulk"]
    state: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    products_seen: int
    products_written: int
    products_deleted: int
    collections_seen: int
    error: str | None
    since: Timestamp | None = Field(description="incremental runs: products updated after this time")
    started_at: Timestamp | None
    finished_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def build(cls, run: SyncRun) -> "SyncOut":
        return cls(
            id=run.id,
            kind=run.kind,
            state=run.state,
            products_seen=run.products_seen,
            products_written=run.products_written,
            products_deleted=run.products_deleted,
            collections_seen=run.collections_seen,
            error=run.error,
            since=run.since,
            started_at=run.started_at,
            finished_at=run.finished_at,
            created_at=run.created_at,
        )


class SyncList(BaseModel):
    """The store's latest sync runs (up to 10), newest first."""

    syncs: list[SyncOut]


class SettingChange(BaseModel):
    """One setting that differs: Zelly's value, and what Shopify has now."""

    field: Literal["name", "currency", "contact_email", "storefront_url"]
    zelly: str | None
    shopify: str | None

    @classmethod
    def build(cls, change: Change) -> "SettingChange":
        return cls(field=change.field, zelly=change.zelly, shopify=change.shopify)


class SettingsDiff(BaseModel):
    """What a push would change in Shopify (empty when both sides agree)."""

    changes: list[SettingChange]


class SettingsRunOut(BaseModel):
    """A settings push or fetch: `queued`, `running`, then `succeeded` (with the `fields` written or adopted) or `failed` (with `error`)."""

    id: int
    kind: Literal["push", "fetch"]
    state: Literal["queued", "running", "succeeded", "failed"]
    status: Literal["queued", "running", "succeeded", "failed"] = Field(description="the same as `state` (kept for clients of the first version)")
    fields: list[str] | None = Field(description="push: the settings written to Shopify; fetch: the ones adopted into Zelly")
    error: str | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    created_at: Timestamp

    @classmethod
    def build(cls, run: SettingsRun) -> "SettingsRunOut":
        return cls(
            id=run.id, kind=run.kind, state=run.state, status=run.state, fields=run.fields, error=run.error,
            started_at=run.started_at, finished_at=run.finished_at, created_at=run.created_at,
        )

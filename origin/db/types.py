"""Column types and common columns shared by every domain's tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

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


def timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime, nullable=False, default=utcnow),
        sa.Column("updated_at", UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow),
    ]


def tenant_id_column() -> sa.Column:
    return sa.Column("tenant_id", Id, nullable=False)

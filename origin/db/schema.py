"""The one metadata every table registers on, and the three logical schema names."""

from __future__ import annotations

import sqlalchemy as sa

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

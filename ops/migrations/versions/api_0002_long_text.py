"""MEDIUMTEXT on MySQL for product and collection descriptions and stored API answers

TEXT holds 64 KB on MySQL: a 256 KB description (the catalog's limit) or a
large replayed API answer was a database error. SQLite's TEXT has no limit, so
only MySQL/MariaDB change.

Revision ID: api_0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql


revision = 'api_0002'
down_revision = '0001'
branch_labels = None
depends_on = None

COLUMNS = (
    ('products', 'description_html'),
    ('collections', 'description_html'),
    ('api_idempotency_keys', 'response_body'),
)


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in ('mysql', 'mariadb')


def _real_schema() -> str:
    # ALTER statements are rendered by alembic, which does not apply the connection's
    # schema_translate_map (CREATE TABLE does): translate the logical name here.
    names = op.get_context().config.attributes['schema_names']
    return names['astro_primary']


def upgrade() -> None:
    if not _is_mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=sa.Text(), type_=mysql.MEDIUMTEXT(), existing_nullable=False, schema=_real_schema())


def downgrade() -> None:
    if not _is_mysql():
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, existing_type=mysql.MEDIUMTEXT(), type_=sa.Text(), existing_nullable=False, schema=_real_schema())

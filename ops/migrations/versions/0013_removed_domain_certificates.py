"""removed_domains.certificate_deleted_at: NULL while Caddy could not be reached to delete the certificate

The periodic domain job retries those (origin/domains/actions.py delete_pending_certificates).
Rows removed before this migration are marked deleted: their removal already tried once.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import origin.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _real_schema() -> str:
    # ALTER statements are rendered by alembic, which does not apply the connection's
    # schema_translate_map (CREATE TABLE does): translate the logical name here (as 0002 does).
    names = op.get_context().config.attributes['schema_names']
    return names['astro_primary']


def upgrade() -> None:
    schema = _real_schema()
    op.add_column('removed_domains', sa.Column('certificate_deleted_at', origin.db.UTCDateTime(), nullable=True), schema=schema)
    op.execute(sa.text(f'UPDATE "{schema}".removed_domains SET certificate_deleted_at = removed_at')
               if op.get_bind().dialect.name == 'sqlite' else
               sa.text(f'UPDATE `{schema}`.removed_domains SET certificate_deleted_at = removed_at'))


def downgrade() -> None:
    op.drop_column('removed_domains', 'certificate_deleted_at', schema=_real_schema())

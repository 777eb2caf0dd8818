"""domains: failure_code column and the (status, next_check_at) index for the periodic verifier

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import context, op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _schema() -> str:
    # ALTER TABLE is rendered from names, not Table objects, so schema_translate_map
    # does not reach it: name the real database (tests run under a prefix).
    return context.config.attributes["schema_names"]["astro_primary"]


def upgrade() -> None:
    with op.batch_alter_table("domains", schema=_schema()) as batch:
        batch.add_column(sa.Column("failure_code", sa.String(length=32), nullable=True))
        batch.create_index("ix_domains_status_next_check_at", ["status", "next_check_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("domains", schema=_schema()) as batch:
        batch.drop_index("ix_domains_status_next_check_at")
        batch.drop_column("failure_code")

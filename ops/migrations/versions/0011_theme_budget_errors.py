"""theme_templates.last_budget_error: why shoppers last got the default theme (issue 13)

A template that runs over its render budget falls back to the default theme; the
reason is kept on the template's row so the merchant sees it through the theme API
whichever process served the page, and a new source clears it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from alembic import context, op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _schema() -> str:
    # ALTER TABLE is rendered from names, not Table objects (see 0003): name the real database.
    return context.config.attributes["schema_names"]["astro_primary"]


def upgrade() -> None:
    with op.batch_alter_table('theme_templates', schema=_schema()) as batch:
        batch.add_column(sa.Column('last_budget_error', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('theme_templates', schema=_schema()) as batch:
        batch.drop_column('last_budget_error')

"""payments: the (status, created_at) index the unpaid-order sweep reads (origin/orders/unpaid.py)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f('ix_payments_status_created_at'), 'payments', ['status', 'created_at'], unique=False, schema='astro_primary')


def downgrade() -> None:
    op.drop_index(op.f('ix_payments_status_created_at'), table_name='payments', schema='astro_primary')

"""removed_domains: custom domains removed by their store, so every process answers 410 for them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import origin.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('removed_domains',
    sa.Column('hostname', sa.String(length=253), nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('removed_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_removed_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('hostname', name=op.f('pk_removed_domains')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_removed_domains_tenant_id'), 'removed_domains', ['tenant_id'], unique=False, schema='astro_primary')
    op.create_index('ix_removed_domains_removed_at', 'removed_domains', ['removed_at'], unique=False, schema='astro_primary')


def downgrade() -> None:
    # The table's indexes go with it (MySQL refuses to drop the one its foreign key needs first).
    op.drop_table('removed_domains', schema='astro_primary')

"""outbox: email_outbox rows and the tenants' email template overrides

Revision ID: 0005_outbox
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import origin.db


revision = '0005_outbox'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table('email_outbox',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('from_name', sa.String(length=255), nullable=True),
    sa.Column('subject', sa.String(length=998), nullable=False),
    sa.Column('text_body', LongText, nullable=False),
    sa.Column('html_body', LongText, nullable=False),
    sa.Column('dedupe_key', sa.String(length=190), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', origin.db.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', origin.db.UTCDateTime(), nullable=True),
    sa.Column('claimed_until', origin.db.UTCDateTime(), nullable=True),
    sa.Column('claim_token', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_email_outbox_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_outbox')),
    sa.UniqueConstraint('tenant_id', 'dedupe_key', name=op.f('uq_email_outbox_tenant_id_dedupe_key')),
    schema='astro_primary'
    )
    op.create_index(op.f('ix_email_outbox_status_next_attempt_at'), 'email_outbox', ['status', 'next_attempt_at'], unique=False, schema='astro_primary')
    op.create_index(op.f('ix_email_outbox_tenant_id_created_at'), 'email_outbox', ['tenant_id', 'created_at'], unique=False, schema='astro_primary')
    op.create_table('email_template_overrides',
    sa.Column('tenant_id', Id, nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('updated_at', origin.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['astro_primary.tenants.id'], name=op.f('fk_email_template_overrides_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'template', name=op.f('pk_email_template_overrides')),
    schema='astro_primary'
    )


def downgrade() -> None:
    op.drop_table('email_template_overrides', schema='astro_primary')
    op.drop_index(op.f('ix_email_outbox_tenant_id_created_at'), table_name='email_outbox', schema='astro_primary')
    op.drop_index(op.f('ix_email_outbox_status_next_attempt_at'), table_name='email_outbox', schema='astro_primary')
    op.drop_table('email_outbox', schema='astro_primary')

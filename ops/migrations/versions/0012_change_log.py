"""change_log: messages between processes without Redis (CLI writes reach a running zelly dev)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
import origin.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('change_log',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('message', sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql', 'mariadb'), nullable=False),
    sa.Column('writer', sa.String(length=32), nullable=False),
    sa.Column('created_at', origin.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_log')),
    schema='backoffice'
    )
    op.create_index(op.f('ix_change_log_created_at'), 'change_log', ['created_at'], unique=False, schema='backoffice')


def downgrade() -> None:
    op.drop_table('change_log', schema='backoffice')

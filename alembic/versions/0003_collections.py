"""collections: one row per collector run

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22 00:46:24.804855
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

import tracker.store.dbtypes  # noqa: F401  autogenerate renders the exact column types


revision: str = '0003'
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('collected_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rows_recorded', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections'))
    )
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.create_index('ix_collections_source_id', ['source', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.drop_index('ix_collections_source_id')

    op.drop_table('collections')

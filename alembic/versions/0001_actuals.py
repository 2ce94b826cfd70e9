"""actuals: one row per recorded value, revisions kept, the newest marked current

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 00:40:59.465811
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

import tracker.store.dbtypes  # noqa: F401  autogenerate renders the exact column types


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('actuals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('period_start', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('period_end', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('value', tracker.store.dbtypes.ExactDecimal(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('recorded_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actuals'))
    )
    with op.batch_alter_table('actuals', schema=None) as batch_op:
        batch_op.create_index('ix_actuals_metric_current_start', ['metric', 'is_current', 'period_start'], unique=False)
        batch_op.create_index('uq_actuals_current', ['metric', 'period'], unique=True, sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))



def downgrade() -> None:
    with op.batch_alter_table('actuals', schema=None) as batch_op:
        batch_op.drop_index('uq_actuals_current', sqlite_where=sa.text('is_current'), postgresql_where=sa.text('is_current'))
        batch_op.drop_index('ix_actuals_metric_current_start')

    op.drop_table('actuals')

"""actuals: the value split into integers (whole units, billionths) and a covering index, so
evaluation sums windows exactly in SQL from the index alone

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 01:10:00
"""
from decimal import Decimal
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.store.dbtypes import value_parts

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_INDEX = 'ix_actuals_metric_current_start'


def upgrade() -> None:
    # ADD COLUMN needs no table rebuild on SQLite (no batch mode, no cascade risk).
    op.add_column('actuals', sa.Column('value_whole', sa.BigInteger(), nullable=True))
    op.add_column('actuals', sa.Column('value_nanos', sa.BigInteger(), nullable=True))
    _backfill(op.get_bind())
    op.drop_index(_INDEX, table_name='actuals')
    op.create_index(_INDEX, 'actuals', ['metric', 'is_current', 'period_start', 'period_end', 'value_whole', 'value_nanos'])


def _backfill(connection: sa.Connection) -> None:
    """Rows left NULL are still summed exactly (in Python), only more slowly."""
    params = []
    for row_id, value in connection.execute(sa.text('SELECT id, value FROM actuals')):
        whole, nanos = value_parts(Decimal(value))
        if whole is not None:
            params.append({'id': row_id, 'w': whole, 'n': nanos})
    if params:
        connection.execute(sa.text('UPDATE actuals SET value_whole = :w, value_nanos = :n WHERE id = :id'), params)


def downgrade() -> None:
    op.drop_index(_INDEX, table_name='actuals')
    op.create_index(_INDEX, 'actuals', ['metric', 'is_current', 'period_start'])
    with op.batch_alter_table('actuals', schema=None) as batch_op:
        batch_op.drop_column('value_nanos')
        batch_op.drop_column('value_whole')

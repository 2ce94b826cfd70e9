"""actuals: the value split into integers (whole, billionths, places) for exact sums in SQL

Revision ID: evalsum
Revises: 0001
Create Date: 2026-11-22 01:10:00
"""
from decimal import Decimal
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.dbtypes import value_parts

revision: str = 'evalsum'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_COLUMNS = ('value_whole', 'value_nanos', 'value_scale')


def upgrade() -> None:
    # ADD COLUMN needs no table rebuild on SQLite (no batch mode, no cascade risk).
    op.add_column('actuals', sa.Column('value_whole', sa.BigInteger(), nullable=True))
    op.add_column('actuals', sa.Column('value_nanos', sa.BigInteger(), nullable=True))
    op.add_column('actuals', sa.Column('value_scale', sa.SmallInteger(), nullable=True))
    _backfill(op.get_bind())


def _backfill(connection: sa.Connection) -> None:
    """Rows left NULL are still summed exactly (in Python), only more slowly."""
    rows = connection.execute(sa.text('SELECT id, value FROM actuals')).all()
    params = []
    for row_id, value in rows:
        whole, nanos, scale = value_parts(Decimal(value))
        if whole is not None:
            params.append({'id': row_id, 'w': whole, 'n': nanos, 's': scale})
    if params:
        connection.execute(
            sa.text('UPDATE actuals SET value_whole = :w, value_nanos = :n, value_scale = :s WHERE id = :id'), params
        )


def downgrade() -> None:
    with op.batch_alter_table('actuals', schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)

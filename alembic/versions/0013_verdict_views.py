"""verdicts.view and verdict_prints: what `tracker status --json` beside a daemon reads
instead of judging again

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 04:00:00

`tracker status --json` beside a daemon decoded every stored verdict and encoded it again
(100,000 goals: 2.5 s of a 9.5 s command). The daemon now stores the text it would print,
all but `evaluated_at`, which the command appends. The table is a cache, so its rows are
dropped rather than given a NULL view: the next cycle stores them again, and a row without
one is a miss.

`verdict_prints` holds one row: the fingerprints the stored verdicts' digests were taken
under, with what they were read under (tracker.store.judging). A new process starts from
them instead of the aggregate over every actual (100,000 goals: 2.4 s), while migration
0011's change marker says they still hold.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: Union[str, None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.execute('DELETE FROM verdicts')
    # ADD COLUMN, not batch mode: SQLite's batch mode recreates the table.
    op.add_column('verdicts', sa.Column('view', sa.Text(), nullable=True))
    op.create_table(
        'verdict_prints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prints', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_verdict_prints')),
    )


def downgrade() -> None:
    op.drop_table('verdict_prints')
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_column('view')

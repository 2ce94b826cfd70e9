"""verdicts.view: each stored verdict's object in `tracker status --json`, as its text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 04:00:00

`tracker status --json` beside a daemon decoded every stored verdict and encoded it again
(100,000 goals: 2.5 s of a 9.5 s command). The daemon now stores the text it would print,
all but `evaluated_at`, which the command appends. The table is a cache, so its rows are
dropped rather than given a NULL view: the next cycle stores them again, and a row without
one is a miss.
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


def downgrade() -> None:
    with op.batch_alter_table('verdicts', schema=None) as batch_op:
        batch_op.drop_column('view')

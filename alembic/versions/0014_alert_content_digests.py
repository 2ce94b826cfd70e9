"""alerts.content_digest: a cycle with no memory of an alert's match keeps its content

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00

A daemon's cycle knows which match each alert row's content was written from only while it
remembers its last write: a restarted daemon, or `tracker evaluate`, rewrote every alert it
held (10,000 goals: 13,624 rows of alerts and alert_contents, the status objects with them;
100,000 goals: 136,655, ~6 s of the cycle's ~45 s written ahead in paced chunks). Each row now
carries a digest of what it says (tracker.store.alert_tables.content_digest), and a match whose
content has the same digest keeps the row. Existing rows start with none: the next cycle
rewrites them once, as before, and stores their digests.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: Union[str, None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ADD COLUMN, not batch mode: SQLite's batch mode recreates the table.
    op.add_column('alerts', sa.Column('content_digest', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('content_digest')

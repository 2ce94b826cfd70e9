"""alerts.held and alerts_held: a steady cycle moves one row, not every held alert's

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:00:00

Every cycle rewrote last_held_at and updated_at of each alert its rules still held
(136,000 UPDATEs at 100,000 goals, in chunks paced for other writers: ~0.6 s of a 2.4 s
steady cycle). Now the row of an alert the last cycle held has `held` set, and its two
instants are read as alerts_held.at (tracker.store.alert_tables.as_held). Existing rows
start with `held` false: their stored instants stand until a cycle writes them.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from tracker.store.dbtypes import UTCDateTime

revision: str = '0012'
down_revision: Union[str, None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ADD COLUMN, not batch mode: SQLite's batch mode recreates the table.
    op.add_column('alerts', sa.Column('held', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'alerts_held',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts_held')),
    )
    # The one row exists from the start, so that a cycle only ever updates it: two first
    # cycles (the daemon and `tracker evaluate`) cannot both insert it.
    op.execute('INSERT INTO alerts_held (id, at) VALUES (1, NULL)')


def downgrade() -> None:
    # The instants as readers saw them, written back before the marker goes.
    op.execute('UPDATE alerts SET last_held_at = (SELECT at FROM alerts_held WHERE id = 1),'
               ' updated_at = (SELECT at FROM alerts_held WHERE id = 1)'
               ' WHERE held AND (SELECT at FROM alerts_held WHERE id = 1) > last_held_at')
    op.drop_table('alerts_held')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('held')

"""actuals.known_since (when a figure became known: what `--known-at` reads) and store_meta
(the time zone the stored period bounds were derived in)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:10:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import tracker.store.dbtypes

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # ADD COLUMN needs no table rebuild on SQLite; earlier rows became known when recorded.
    op.add_column('actuals', sa.Column('known_since', tracker.store.dbtypes.UTCDateTime(), nullable=True))
    op.execute('UPDATE actuals SET known_since = recorded_at')
    op.create_table(
        'store_meta',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('value', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_store_meta')),
    )


def downgrade() -> None:
    op.drop_table('store_meta')
    with op.batch_alter_table('actuals', schema=None) as batch_op:
        batch_op.drop_column('known_since')

"""heartbeats: each daemon's last readiness write (/readyz checks that the database takes one)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:50:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import tracker.store.dbtypes

revision: str = '0008'
down_revision: Union[str, None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'heartbeats',
        sa.Column('holder', sa.String(length=200), nullable=False),
        sa.Column('beat_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('holder', name=op.f('pk_heartbeats')),
    )


def downgrade() -> None:
    op.drop_table('heartbeats')

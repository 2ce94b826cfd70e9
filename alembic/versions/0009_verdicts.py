"""verdicts: each goal's last verdict with a digest of its inputs, kept across processes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:45:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: Union[str, None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'verdicts',
        sa.Column('goal', sa.String(length=200), nullable=False),
        sa.Column('inputs', sa.String(length=64), nullable=False),
        sa.Column('evaluation', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('goal', name=op.f('pk_verdicts')),
    )


def downgrade() -> None:
    op.drop_table('verdicts')

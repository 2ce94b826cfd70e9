"""leases: which replica leads the evaluation, until when, and in which term

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 00:53:39.141426
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

import tracker.store.dbtypes  # noqa: F401  autogenerate renders the exact column types


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('acquired_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )


def downgrade() -> None:
    op.drop_table('leases')

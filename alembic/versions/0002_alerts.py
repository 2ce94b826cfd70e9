"""alerts: alert states, what each receiver was told, the outbox, receiver health, silences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:47:37.011854
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel  # noqa: F401  autogenerate renders sqlmodel.sql.sqltypes.AutoString
from alembic import op

import tracker.store.dbtypes  # noqa: F401  autogenerate renders the exact column types


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('alerts',
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('condition', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('active_since', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('starts_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('ends_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('last_held_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=False),
    sa.Column('last_notified_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('last_notify_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_state', ['state'], unique=False)

    op.create_table('notify_log',
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('fingerprint', 'receiver', name=op.f('pk_notify_log'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('webhook_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('receiver', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('sent_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('webhook_id', name=op.f('uq_outbox_webhook_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_fingerprint_receiver', ['fingerprint', 'receiver'], unique=False)
        batch_op.create_index('ix_outbox_state_next_attempt_at', ['state', 'next_attempt_at'], unique=False)

    op.create_table('receiver_state',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('last_failure_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('last_success_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('disabled_at', tracker.store.dbtypes.UTCDateTime(), nullable=True),
    sa.Column('disabled_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_receiver_state'))
    )
    op.create_table('silences',
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ends_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('created_at', tracker.store.dbtypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('subject', name=op.f('pk_silences'))
    )


def downgrade() -> None:
    op.drop_table('silences')
    op.drop_table('receiver_state')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_next_attempt_at')
        batch_op.drop_index('ix_outbox_fingerprint_receiver')

    op.drop_table('outbox')
    op.drop_table('notify_log')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_state')

    op.drop_table('alerts')

"""groups: alert_groups (what each receiver was told about each group of alerts) and
silences by matchers (id, matchers, starts_at, ends_at, created_by; expired ones are kept)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00

Each per-goal silence becomes the matcher silence `goal="<id>"` with the same end and comment.
Downgrade keeps the active silences that are one goal matcher; the others cannot be said in
the old table and are dropped.
"""
import json
import uuid
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

import tracker.store.dbtypes

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

When = tracker.store.dbtypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'alert_groups',
        sa.Column('receiver', sa.String(length=100), nullable=False),
        sa.Column('group_key', sa.String(length=1000), nullable=False),
        sa.Column('group_id', sa.String(length=32), nullable=False),
        sa.Column('labels', sa.JSON(), nullable=False),
        sa.Column('firing', sa.JSON(), nullable=False),
        sa.Column('resolved', sa.JSON(), nullable=False),
        sa.Column('first_notified_at', When(), nullable=False),
        sa.Column('notified_at', When(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('receiver', 'group_key', name=op.f('pk_alert_groups')),
        sa.UniqueConstraint('group_id', name=op.f('uq_alert_groups_group_id')),
    )
    old = [dict(row._mapping) for row in op.get_bind().execute(sa.text('SELECT * FROM silences'))]
    op.drop_table('silences')
    silences = op.create_table(
        'silences',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('matchers', sa.JSON(), nullable=False),
        sa.Column('starts_at', When(), nullable=False),
        sa.Column('ends_at', When(), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', When(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_silences')),
    )
    op.create_index('ix_silences_ends_at', 'silences', ['ends_at'], unique=False)
    when = When()
    dialect = op.get_bind().dialect
    rows = []
    for row in old:
        created = when.process_result_value(row['created_at'], dialect)
        goal = row['subject'].removeprefix('goal:')
        rows.append({
            'id': str(uuid.uuid4()), 'matchers': [f'goal={json.dumps(goal)}'], 'starts_at': created,
            'ends_at': when.process_result_value(row['ends_at'], dialect), 'comment': row['comment'],
            'created_by': '', 'created_at': created,
        })
    if rows:
        op.bulk_insert(silences, rows)


def downgrade() -> None:
    rows = [dict(row._mapping) for row in op.get_bind().execute(sa.text('SELECT * FROM silences'))]
    op.drop_index('ix_silences_ends_at', table_name='silences')
    op.drop_table('silences')
    old = op.create_table(
        'silences',
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('ends_at', When(), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.PrimaryKeyConstraint('subject', name=op.f('pk_silences')),
    )
    when, dialect, kept = When(), op.get_bind().dialect, {}
    for row in rows:
        matchers = row['matchers'] if isinstance(row['matchers'], list) else json.loads(row['matchers'])
        if len(matchers) == 1 and matchers[0].startswith('goal="'):
            subject = 'goal:' + json.loads(matchers[0].removeprefix('goal='))
            ends = when.process_result_value(row['ends_at'], dialect)
            if subject not in kept or kept[subject]['ends_at'] < ends:
                kept[subject] = {'subject': subject, 'ends_at': ends, 'comment': row['comment'],
                                 'created_at': when.process_result_value(row['created_at'], dialect)}
    if kept:
        op.bulk_insert(old, list(kept.values()))
    op.drop_table('alert_groups')

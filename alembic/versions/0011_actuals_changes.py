"""actuals_edits and actuals_changes: what triggers count of writes to `actuals` that a
fingerprint of row ids cannot see

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:30:00

- `actuals_edits` (both databases): per metric, how many times a row's value, period,
  bounds or times were changed in place. Ids do not move then, so without it a verdict
  judged from the old value was reused (a raw-SQL fix of a typo, a re-derivation of the
  period bounds). The fingerprint of a metric (tracker.store.actuals.fingerprints) adds it.
- `actuals_changes` (SQLite only): one counter every UPDATE or DELETE moves. With inserts
  told by the largest id (SQLite writes one transaction at a time, so ids grow in commit
  order), a remembering process can tell in O(1) that nothing changed and skip the
  aggregate over every actual (tracker.store.actuals.change_marker). PostgreSQL takes ids
  before commit and can commit them out of order, and one counter row updated by every
  writer would serialise them: there the aggregate runs every cycle.

A later migration that recreates `actuals` (Alembic's batch mode on SQLite does) drops
these triggers and must create them again. Without the counter's triggers the reader
falls back to the aggregate.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_EDITED = ('value', 'value_whole', 'value_nanos', 'period', 'period_start', 'period_end', 'recorded_at', 'known_since')
_CHANGED = ('update', 'delete')
_UPSERT = ('INSERT INTO actuals_edits (metric, edits) VALUES (NEW.metric, 1)'
           ' ON CONFLICT (metric) DO UPDATE SET edits = actuals_edits.edits + 1')


def upgrade() -> None:
    op.create_table(
        'actuals_edits',
        sa.Column('metric', sa.String(length=100), nullable=False),
        sa.Column('edits', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('metric', name=op.f('pk_actuals_edits')),
    )
    columns = ', '.join(_EDITED)
    when = ' OR '.join(f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in _EDITED)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE FUNCTION actuals_edited() RETURNS trigger LANGUAGE plpgsql AS'
                   f' $$ BEGIN {_UPSERT}; RETURN NULL; END $$')
        op.execute(f'CREATE TRIGGER actuals_edited AFTER UPDATE OF {columns} ON actuals FOR EACH ROW'
                   f' WHEN ({when}) EXECUTE FUNCTION actuals_edited()')
        return
    op.execute(f'CREATE TRIGGER actuals_edited AFTER UPDATE OF {columns} ON actuals'
               f' WHEN {when.replace("IS DISTINCT FROM", "IS NOT")} BEGIN {_UPSERT}; END')
    op.create_table(
        'actuals_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('changes', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_actuals_changes')),
    )
    op.execute('INSERT INTO actuals_changes (id, changes) VALUES (1, 0)')
    for event in _CHANGED:
        op.execute(f'CREATE TRIGGER actuals_changed_on_{event} AFTER {event.upper()} ON actuals'
                   ' BEGIN UPDATE actuals_changes SET changes = changes + 1 WHERE id = 1; END')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS actuals_edited ON actuals')
        op.execute('DROP FUNCTION IF EXISTS actuals_edited()')
    else:
        for name in ('actuals_edited', *(f'actuals_changed_on_{event}' for event in _CHANGED)):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.drop_table('actuals_changes')
    op.drop_table('actuals_edits')

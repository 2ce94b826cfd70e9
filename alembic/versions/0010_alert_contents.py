"""alert_contents: what an alert says (title, summary, the goal's status object) apart from
its lifecycle row, so that a cycle moving every held alert's state rewrites a narrow row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 08:10:00

SQLite rewrites a whole row to change one column: with the ~2 KB status object in `alerts`,
a steady cycle's UPDATE of last_held_at at 100,000 goals wrote ~560 MB to the WAL.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_MOVED = ('title', 'summary', 'evaluation')


def upgrade() -> None:
    op.create_table(
        'alert_contents',
        sa.Column('fingerprint', sa.String(length=32), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('summary', sa.String(length=2000), nullable=False),
        sa.Column('evaluation', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('fingerprint', name=op.f('pk_alert_contents')),
    )
    op.execute('INSERT INTO alert_contents (fingerprint, title, summary, evaluation)'
               ' SELECT fingerprint, title, summary, evaluation FROM alerts')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        for name in _MOVED:
            batch_op.drop_column(name)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('summary', sa.String(length=2000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('evaluation', sa.JSON(), nullable=True))
    op.execute('UPDATE alerts SET title = (SELECT c.title FROM alert_contents c WHERE c.fingerprint = alerts.fingerprint),'
               ' summary = (SELECT c.summary FROM alert_contents c WHERE c.fingerprint = alerts.fingerprint),'
               ' evaluation = (SELECT c.evaluation FROM alert_contents c WHERE c.fingerprint = alerts.fingerprint)'
               ' WHERE fingerprint IN (SELECT fingerprint FROM alert_contents)')
    op.execute("UPDATE alerts SET evaluation = '{}' WHERE evaluation IS NULL")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.alter_column('evaluation', existing_type=sa.JSON(), nullable=False)
    op.drop_table('alert_contents')

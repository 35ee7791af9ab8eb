"""sessions: guests, several stories per session with the teller's consent, planned sessions

Revision ID: 0002_sessions
Revises: 0002_roles

Each story already recorded in cop_session.story becomes a row of `story`, dated and recorded as
its session was, with no teller and consent 'private': nobody was asked, so it stays in the CoP
until the planning group records the teller's consent.
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_sessions'
down_revision = '0002_roles'
branch_labels = None
depends_on = None


def _drop_column(table: str, column: str) -> None:
    """Alembic's batch mode on SQLite would copy the table and drop the old one, which attendance
    and story point at (a foreign-key failure); SQLite 3.35+ drops a plain column in place."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    op.create_table('story',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('told_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('teller_id', sa.Integer(), nullable=True),
    sa.Column('consent', sa.String(length=10), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['session_id'], ['cop_session.id'], ),
    sa.ForeignKeyConstraint(['teller_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_story_community_id'), ['community_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_story_session_id'), ['session_id'], unique=False)

    op.create_table('planned_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('agenda', sa.JSON(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('planned_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planned_session_community_id'), ['community_id'], unique=False)

    op.add_column('cop_session', sa.Column('guests', sa.Integer(), nullable=False, server_default='0'))

    sessions = sa.table('cop_session', sa.column('id', sa.Integer), sa.column('community_id', sa.Integer),
                        sa.column('held_on', sa.Date), sa.column('story', sa.Text),
                        sa.column('recorded_on', sa.Date))
    story = sa.table('story', sa.column('community_id', sa.Integer), sa.column('session_id', sa.Integer),
                     sa.column('told_on', sa.Date), sa.column('text', sa.Text),
                     sa.column('consent', sa.String), sa.column('recorded_on', sa.Date))
    op.execute(story.insert().from_select(
        ['community_id', 'session_id', 'told_on', 'text', 'consent', 'recorded_on'],
        sa.select(sessions.c.community_id, sessions.c.id, sessions.c.held_on, sessions.c.story,
                  sa.literal('private'), sessions.c.recorded_on)
        .where(sessions.c.story.is_not(None), sessions.c.story != '')))

    _drop_column('cop_session', 'story')


def downgrade() -> None:
    op.add_column('cop_session', sa.Column('story', sa.Text(), nullable=True))
    # One story column holds one story: the first told at each session goes back into it.
    sessions = sa.table('cop_session', sa.column('id', sa.Integer), sa.column('story', sa.Text))
    story = sa.table('story', sa.column('id', sa.Integer), sa.column('session_id', sa.Integer),
                     sa.column('text', sa.Text))
    first = (sa.select(story.c.text).where(story.c.session_id == sessions.c.id)
             .order_by(story.c.id).limit(1).scalar_subquery())
    op.execute(sessions.update().values(story=first))
    _drop_column('cop_session', 'guests')
    with op.batch_alter_table('planned_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_planned_session_community_id'))
    op.drop_table('planned_session')
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_story_session_id'))
        batch_op.drop_index(batch_op.f('ix_story_community_id'))
    op.drop_table('story')

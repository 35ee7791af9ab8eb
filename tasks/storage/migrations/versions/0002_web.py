"""the web app: sign-in links, web sessions, stopped emails, the audit's channel

Revision ID: 0002_web
Revises: 0002_emails
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_web'
down_revision = '0002_emails'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emails_stopped', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
    op.create_table('web_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('client_hash', sa.String(length=64), nullable=True),
    sa.Column('next_path', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_token', schema=None) as batch_op:
        batch_op.create_index('ix_web_token_address', ['address_hash', 'created_at'], unique=False)
        batch_op.create_index('ix_web_token_client', ['client_hash', 'created_at'], unique=False)
    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('session_hash')
    )


def downgrade() -> None:
    op.drop_table('web_session')
    with op.batch_alter_table('web_token', schema=None) as batch_op:
        batch_op.drop_index('ix_web_token_client')
        batch_op.drop_index('ix_web_token_address')
    op.drop_table('web_token')
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('emails_stopped')

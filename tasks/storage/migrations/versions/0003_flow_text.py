"""flow_text: the free text typed for a flow run, kept out of Prefect's stores

Revision ID: 0003_flow_text
Revises: 0002_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_flow_text'
down_revision = '0002_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'flow_text',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('community_id', sa.Integer(), sa.ForeignKey('community.id'), nullable=True),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_flow_text_community_id', 'flow_text', ['community_id'])


def downgrade() -> None:
    op.drop_index('ix_flow_text_community_id', table_name='flow_text')
    op.drop_table('flow_text')

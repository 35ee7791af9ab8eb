"""outbox: how many times an operator queued a message again

Revision ID: 0002_delivery
Revises: 0002_identity
Create Date: 2026-11-29 00:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_delivery'
down_revision = '0002_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 'held' (refused for the settings, waiting for an operator's resend) is a new value of
    # outbox_message.status, a free string column: no change of type is needed for it.
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resends', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('resends')

"""outbox: where a reply goes (Reply-To: the convenor or the planning lead)

Revision ID: 0002_emails
Revises: 0002_delivery
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_emails'
down_revision = '0002_delivery'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('reply_to_email', sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('reply_to_email')
        batch_op.drop_column('reply_to_name')

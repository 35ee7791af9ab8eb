"""roles: remember who was convenor once the role changes hands

Revision ID: 0002_roles
Revises: 0002_web
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_roles'
down_revision = '0002_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.add_column(sa.Column('convened_until', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('membership', schema=None) as batch_op:
        batch_op.drop_column('convened_until')

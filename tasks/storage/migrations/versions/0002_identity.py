"""audit entries name the operator beside the actor

Revision ID: 0002_identity
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_identity'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Who typed the command or started the run: an OS user, 'schedule', or none (the Prefect API).
    with op.batch_alter_table('audit_entry') as batch:
        batch.add_column(sa.Column('operator', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_entry') as batch:
        batch.drop_column('operator')

"""Claims: a revision counter and a lease on each row, so workers on several machines share
the queue (SELECT ... FOR UPDATE SKIP LOCKED) and complete each job once (compare-and-set).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("resources", sa.Column("revision", sa.Integer, nullable=False, server_default="0"))
    op.add_column("resources", sa.Column("lease_owner", sa.Text, nullable=True))
    op.add_column("resources", sa.Column("lease_expires", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resources") as batch:
        batch.drop_column("lease_expires")
        batch.drop_column("lease_owner")
        batch.drop_column("revision")

"""The resources table: one row per resource (job, vocabulary, ...), JSON documents inside.

This is the schema SQLite data dirs had before migrations; such a data dir is stamped with
this revision (emulator.storage.database.migrate) and upgraded from here.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("creation_time", sa.Float, nullable=False),
        sa.Column("doc", sa.Text, nullable=False),
        sa.Column("internal", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("kind", "region", "name"),
    )
    op.create_index("resources_by_time", "resources", ["kind", "region", "creation_time"])
    op.create_index("resources_by_status", "resources", ["kind", "status"])


def downgrade() -> None:
    op.drop_table("resources")

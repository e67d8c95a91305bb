"""deleted campaigns: a deleted campaign's id, name and moment are kept, so that the id is never given to another
campaign (SQLite reused the highest id once its row was gone) and a client asking for it is told it was deleted

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 14:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deleted_campaigns",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("deleted_campaigns")

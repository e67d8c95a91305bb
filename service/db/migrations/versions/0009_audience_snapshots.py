"""audience snapshots: segment KPIs stored by each audience refresh, so GET /segments reads one row

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audience_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audience_snapshots_computed_at", "audience_snapshots", ["computed_at"])


def downgrade() -> None:
    op.drop_index("ix_audience_snapshots_computed_at", table_name="audience_snapshots")
    op.drop_table("audience_snapshots")

"""data versions: how many times an import wrote the shop's orders, which the fallback's popularity cache reads by its
key to tell an order line corrected in place (the lines' count, newest id and latest moment unchanged) without
reading every line per request. A database upgraded to it starts at 0, and the cache reads the orders once more.

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    versions = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(versions, [{"name": "orders", "version": 0}])


def downgrade() -> None:
    op.drop_table("data_versions")

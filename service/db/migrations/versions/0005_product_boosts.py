"""product boosts: a product's margin and the day it arrived, for the margin and new-arrival boosts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("margin", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("arrived_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("arrived_at")
        batch_op.drop_column("margin")

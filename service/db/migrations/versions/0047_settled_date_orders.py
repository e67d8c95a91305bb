"""settled date orders: whether each import kind's numeric dates put the day first, as the first file of that kind
whose order was known settled it, so that a later file whose dates are all ambiguous (a month's export of its first
twelve days, 03/04/2011) is read in that order instead of refused. Nothing is settled for a database upgraded to it:
the dates stored say nothing of the order their files wrote them in.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-05 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settled_date_orders",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("day_first", sa.Boolean(), nullable=False),
        sa.Column("import_file", sa.String(length=300), nullable=False),
        sa.Column("import_job_id", sa.String(length=36), nullable=True),
        sa.Column("settled_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "column_name"),
    )


def downgrade() -> None:
    op.drop_table("settled_date_orders")

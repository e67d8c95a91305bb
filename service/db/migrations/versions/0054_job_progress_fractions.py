"""job progress fractions: a generate job's `progress` stayed 0 for its whole ranking stage (its figures count
drafts, none written while it ranks), which looked hung on a large campaign. A job whose stages have counts of their
own keeps its progress here, from 0 to 1; null for every other job, and for each one before it, whose progress is
still done of total.

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-06 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("progress_fraction", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("progress_fraction")

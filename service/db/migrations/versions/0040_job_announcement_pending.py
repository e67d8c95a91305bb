"""job announcement_*: a job's ending the webhook did not take (its receiver down, or slow past a command's wait) is
kept on its row, since when, its tries so far, when it is tried again (what also keeps two processes from
delivering it at once) and the ending it corrects, for the server's sweep or the next command to deliver; jobs that
ended before this have none pending

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-04 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announcement_pending_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("announcement_tries", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("announcement_next_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("announcement_corrects", sa.JSON(), nullable=True))
        batch_op.create_index("ix_jobs_announcement_pending_since", ["announcement_pending_since"])


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_announcement_pending_since")
        batch_op.drop_column("announcement_corrects")
        batch_op.drop_column("announcement_next_at")
        batch_op.drop_column("announcement_tries")
        batch_op.drop_column("announcement_pending_since")

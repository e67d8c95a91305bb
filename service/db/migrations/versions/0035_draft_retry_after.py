"""draft retry_after: an address the mail server refused for now (4xx) is tried again after a growing wait, not at
every send (a send of one email at a time stopped at it, and a scheduled campaign's due-check asked for it every
five minutes without end); after some refusals the draft goes back to a person

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusals_for_now", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("retry_after", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_drafts_retry_after"), ["retry_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_retry_after"))
        batch_op.drop_column("retry_after")
        batch_op.drop_column("refusals_for_now")

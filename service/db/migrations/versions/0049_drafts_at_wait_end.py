"""drafts at wait end: a draft the contact policy deferred from no send time of its own (a campaign sent now) says
so, as its send time is when the policy's wait ends and no time of its customer's day. A customers file that moved
its customer to another zone moved it to the same time of day on the new clock: east, before the wait ended (the
due-check deferred it again, to the next day at that hour); west, hours late. Drafts deferred before are taken to
keep a time of day, as they were.

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-05 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A default of a constant, not sa.false(): SQLite adds the column in place. An expression made the batch rebuild
    # the table, without the AUTOINCREMENT that 0022 gave it, and a deleted draft's id was given again.
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("at_wait_end", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("at_wait_end")

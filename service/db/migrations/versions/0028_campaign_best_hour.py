"""campaign best hour: a campaign scheduled with `at_best_hour` keeps that choice, so that a draft approved after
the request waits for its own customer's best hour from the scheduled moment on, as the drafts approved before
it do. Campaigns scheduled before keep the campaign's moment for later approvals, as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("at_best_hour", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("at_best_hour")

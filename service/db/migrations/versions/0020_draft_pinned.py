"""draft pinned: a draft approved with a variant its reviewer chose (another than the chosen one, a failed check
overridden, or copy edited) is sent exactly that variant, outside an experiment's arms; approved drafts with an
edited variant are pinned already

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 18:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        "UPDATE drafts SET pinned = true WHERE status = 'approved' "
        "AND id IN (SELECT draft_id FROM variants WHERE edited)"
    )


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("pinned")

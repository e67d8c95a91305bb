"""draft position: each draft's place in its campaign's audience, so drafts written in batches, group by group,
are still listed and sent in the audience's order

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
    # Drafts written before were inserted in the audience's order: their ids keep it.
    op.execute("UPDATE drafts SET position = id")


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("position")

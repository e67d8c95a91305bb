"""send times: an approved draft can wait for its customer's best send hour

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 08:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_after", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_drafts_send_after"), ["send_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_send_after"))
        batch_op.drop_column("send_after")

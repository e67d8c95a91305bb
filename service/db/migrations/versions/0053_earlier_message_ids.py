"""earlier Message-IDs: a draft mailed again (approved again after its email was perhaps sent, or its stalled first
sender's email taken after another claimed it) writes its one send over with the later email, and the earlier
email's Message-ID was lost, so that its bounce or complaint named a send that never existed. Each is kept here,
with when it went. A database upgraded to it has lost those of the drafts mailed twice before.

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "earlier_message_ids",
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index("ix_earlier_message_ids_send_id", "earlier_message_ids", ["send_id"])


def downgrade() -> None:
    op.drop_index("ix_earlier_message_ids_send_id", table_name="earlier_message_ids")
    op.drop_table("earlier_message_ids")

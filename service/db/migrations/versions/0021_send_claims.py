"""send claims: a draft being sent is "sending", claimed by the process sending it, and a draft has one send at
most, so that two senders at once (two servers' due-checks) cannot both mail it; sends that an earlier double
send recorded for a draft already sent keep their rows but no longer name the draft

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))
    # The first send of a draft sent twice stays its send; the later ones (emails that did go out) stay the
    # customer's and the campaign's, without the draft.
    op.execute(
        "UPDATE sends SET draft_id = NULL WHERE draft_id IS NOT NULL AND id > "
        "(SELECT MIN(earlier.id) FROM sends AS earlier WHERE earlier.draft_id = sends.draft_id)"
    )
    op.create_index("uq_send_draft", "sends", ["draft_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_send_draft", table_name="sends")
    op.execute("UPDATE drafts SET status = 'approved' WHERE status = 'sending'")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")

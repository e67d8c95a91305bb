"""erased shop send ids: an imported send erased with its customer, or deleted as older than
TAILOR_HISTORY_KEEP_DAYS, kept its Tailor id and Message-ID but not the shop's own id, so that an event naming it by
`shop_send_id` refused its whole batch as naming a send that never existed instead of being skipped. Each such send
keeps the shop's id here (the shop's reference to its email, as the Message-ID is, nothing of the person). Sends
erased or deleted before it keep none: an event naming one of them by the shop's id is still refused, as unknown.

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-06 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erased_sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shop_send_id", sa.String(length=128), nullable=True))
        batch_op.create_index("ix_erased_sends_shop_send_id", ["shop_send_id"])


def downgrade() -> None:
    with op.batch_alter_table("erased_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_erased_sends_shop_send_id")
        batch_op.drop_column("shop_send_id")

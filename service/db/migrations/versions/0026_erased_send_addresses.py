"""erased send addresses: an erased customer's sends keep the digest of the address they went to (as the
suppression list keeps it), so that an unsubscribe link in such an email, followed after the shop lifted the
erasure and imported the person again, unsubscribes them instead of telling them they will not be mailed. Sends
erased before it keep none, and their links say what they said.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erased_sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_digest", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_erased_sends_email_digest", ["email_digest"])


def downgrade() -> None:
    with op.batch_alter_table("erased_sends", schema=None) as batch_op:
        batch_op.drop_index("ix_erased_sends_email_digest")
        batch_op.drop_column("email_digest")

"""customer timezone: the IANA zone a customer lives in (a customers file's `timezone`), whose clock their best send
hour is learned and kept on and their send scheduled by; null, as for every customer stored before, is the shop's
(TAILOR_SEND_TIMEZONE)

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-05 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("timezone")

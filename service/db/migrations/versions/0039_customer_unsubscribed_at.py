"""customer unsubscribed_at: when Tailor took a customer's unsubscribe, so that support can answer "when did I
unsubscribe?" for one a customers file unsubscribed too (a link's or an event's is also its event's time); customers
unsubscribed before keep null, as nothing says when

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04 06:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unsubscribed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("unsubscribed_at")

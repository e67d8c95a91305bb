"""event recorded_at: when Tailor recorded an event, besides when the email service says it happened, so that
support can tell whether an unsubscribe reached Tailor before a later email went ("I unsubscribed and still got
one"); events recorded before keep null, as nothing says when they came

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")

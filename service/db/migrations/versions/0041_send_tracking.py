"""send tracking: whether Tailor's own email told it of opens and of clicks (TAILOR_TRACK_OPENS and
TAILOR_TRACK_CLICKS when it went), so that a campaign's report says how many of its sends could tell of an open;
"" for one that carried neither, null for an imported send or one sent before, of which nothing says

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-05 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracking", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_column("tracking")

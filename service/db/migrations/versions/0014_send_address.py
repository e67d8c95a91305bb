"""send address: the address an email went to, so that a bounce reported later marks that address, not one the
customer has given since

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("to_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_column("to_email")

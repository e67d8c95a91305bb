"""bounced email: the address a hard bounce (or the mail server's permanent refusal) came back from, so that
it is not mailed again; a customer whose address has changed since is mailable again

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bounced_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("bounced_email")

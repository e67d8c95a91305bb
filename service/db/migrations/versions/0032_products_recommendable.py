"""products recommendable: false for a line that is no merchandise (postage, carriage, a fee, a manual adjustment),
which is never recommended. On Online Retail, POSTAGE was in 26 of 344 replenishment emails ("time to restock"),
being re-bought with every order abroad. Every product stored is recommendable, as it was.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-11 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recommendable", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("recommendable")

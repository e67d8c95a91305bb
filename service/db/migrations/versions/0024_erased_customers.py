"""erased customers: a customer erased under the right to erasure is kept as SHA-256 digests of their customer id
and address, nothing readable of them, so that importing the shop's customers file again does not bring them back
and mail them (a suppression list, as email services keep one). Customers erased before it left nothing to keep

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_customers",
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("email_digest", sa.String(length=64), nullable=True),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id_digest"),
    )
    op.create_index("ix_erased_customers_email_digest", "erased_customers", ["email_digest"])


def downgrade() -> None:
    op.drop_index("ix_erased_customers_email_digest", table_name="erased_customers")
    op.drop_table("erased_customers")

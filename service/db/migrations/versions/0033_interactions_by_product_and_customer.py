"""interactions by product and customer: which products customers buy again, and who bought the products a re-order
reminder may show, grouped every order line through a temporary sort of the whole table: the replenishment
audience's preview took 6.4 s on Online Retail's 787,000 lines (2.2 s with this index, which covers both reads).
The index on product_id alone is dropped: the new one starts with it, and each index costs an import its writes.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-11 11:00:00
"""

from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_product_customer", "interactions", ["product_id", "customer_id", "kind", "timestamp"]
    )
    op.drop_index("ix_interactions_product_id", table_name="interactions")


def downgrade() -> None:
    op.create_index("ix_interactions_product_id", "interactions", ["product_id"])
    op.drop_index("ix_interactions_product_customer", table_name="interactions")

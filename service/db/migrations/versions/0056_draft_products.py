"""draft products: the products each draft's email shows, by sku, kept as rows indexed by the sku
(service.db.shown_products), filled here for the drafts stored before; and products indexed by when they were last
written, and drafts by campaign, status and when they were written. A campaign's page asks on each load whether a
waiting draft shows a product the catalog wrote since its drafts were: it read every draft of the campaign for the
oldest one's time, every product to tell whether any was written since, and once one was, every waiting draft's JSON
(for 10,000 drafts, 68-105 ms on SQLite and 1.6-2.8 s on PostgreSQL on each load; 2-27 ms and 4-20 ms after it:
`python -m evals.scale.update_offer [--postgres]`).

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-06 21:00:00
"""

import sqlalchemy as sa
from alembic import op

from service.db.shown_products import fill_shown_products

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft_products",
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("product_sku", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("draft_id", "product_sku"),
    )
    op.create_index("ix_draft_products_sku_draft", "draft_products", ["product_sku", "draft_id"])
    op.create_index("ix_products_updated_at", "products", ["updated_at"])
    op.create_index("ix_drafts_campaign_status_created", "drafts", ["campaign_id", "status", "created_at"])
    fill_shown_products(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_drafts_campaign_status_created", table_name="drafts")
    op.drop_index("ix_products_updated_at", table_name="products")
    op.drop_index("ix_draft_products_sku_draft", table_name="draft_products")
    op.drop_table("draft_products")

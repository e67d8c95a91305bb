"""event product: the product whose link a click followed (Tailor's tracked links, or an email service's click
event that gives the address), so that a campaign's report names the products clicked and the recommender learns
each click as the customer's view of that product; null for every event recorded before

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-05 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_events_product_id", "products", ["product_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_events_product_id", type_="foreignkey")
        batch_op.drop_column("product_id")

"""replaced drafts: a draft deleted when its campaign is generated again is kept as the campaign and customer it
was for, so that an API client still holding its id is told the id of the draft that replaced it. Drafts replaced
before it left nothing, and their ids are answered as not existing, as before.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "replaced_drafts",
        sa.Column("draft_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("draft_id"),
    )
    op.create_index("ix_replaced_drafts_campaign_id", "replaced_drafts", ["campaign_id"])
    op.create_index("ix_replaced_drafts_customer_id", "replaced_drafts", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_replaced_drafts_customer_id", table_name="replaced_drafts")
    op.drop_index("ix_replaced_drafts_campaign_id", table_name="replaced_drafts")
    op.drop_table("replaced_drafts")

"""experiments: holdout share per campaign, the arm of each send, and every customer's arm

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:35:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holdout_share", sa.Float(), nullable=True))
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arm", sa.String(length=32), nullable=True))
    op.create_table(
        "experiment_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("send_id", sa.Integer(), nullable=True),
        sa.Column("arm", sa.String(length=32), nullable=False),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["send_id"], ["sends.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "customer_id", name="uq_assignment_campaign_customer"),
    )
    with op.batch_alter_table("experiment_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experiment_assignments_campaign_id"), ["campaign_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("experiment_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiment_assignments_campaign_id"))
    op.drop_table("experiment_assignments")
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_column("arm")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("holdout_share")

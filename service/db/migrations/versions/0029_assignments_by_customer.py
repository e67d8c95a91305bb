"""assignments by customer: the contact policy looks, as each email is sent, whether another campaign's experiment
held the customer out lately; without an index on the customer, each look read every assignment of every
experiment.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-09 09:00:00
"""

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_experiment_assignments_customer_id", "experiment_assignments", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_experiment_assignments_customer_id", table_name="experiment_assignments")

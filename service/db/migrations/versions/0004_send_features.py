"""send features: the customer's churn risk and the products' recommendation score when the email went out

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("churn_risk", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("rec_score", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_column("rec_score")
        batch_op.drop_column("churn_risk")

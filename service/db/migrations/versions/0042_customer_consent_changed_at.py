"""customer consent_changed_at: when a customer's marketing consent took its present value (a customers file's
`consent_at`, or the import or write that gave or changed it), so that the shop can show when consent was given or
withdrawn (GDPR Art. 7(1)); customers stored before keep null, as nothing says when

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-05 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_changed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("consent_changed_at")

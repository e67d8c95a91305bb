"""draft revisions: a counter of each draft's changes through review, and the revision each review made, so that a
save or a review based on a draft that changed since it was read is refused, naming who changed it, instead of
undoing their edit or approving copy the person never saw

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("revision")
    with op.batch_alter_table("drafts", schema=None) as batch_op:
        batch_op.drop_column("revision")

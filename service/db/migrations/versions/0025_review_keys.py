"""review keys: each review records the API key it was made with (its prefix and name), beside the reviewer's
name, which the review page's login and an API client's body only declare; reviews made before stay without

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_prefix", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("key_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("key_name")
        batch_op.drop_column("key_prefix")

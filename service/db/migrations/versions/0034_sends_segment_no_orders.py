"""sends segment: a send Tailor made to a customer without orders names their segment as the API does, "no_orders",
not "" (which scoring read as a segment of its own, and the engagement model's reasons wrote as "the  segment").
An imported send's empty segment stays: there it means the file did not say.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 07:00:00
"""

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE sends SET segment = 'no_orders' WHERE segment = '' AND external_id IS NULL")


def downgrade() -> None:
    op.execute("UPDATE sends SET segment = '' WHERE segment = 'no_orders' AND external_id IS NULL")

"""review session kept forms: a form carried through the login (or refused for coming from a page shown to another
reviewer) is kept on the review session it was carried into, with until when, for the page that offers it again
(service.review.resend). It was kept in the memory of the process that took the login: a second server behind a
balancer that answered the page, or the same one restarted, had none, and the page led to the campaigns.

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-07 20:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_sessions") as batch:
        batch.add_column(sa.Column("kept_form", sa.Text(), nullable=True))
        batch.add_column(sa.Column("kept_form_until", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_sessions") as batch:
        batch.drop_column("kept_form_until")
        batch.drop_column("kept_form")

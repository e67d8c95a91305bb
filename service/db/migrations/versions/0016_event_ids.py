"""event ids: the email service's own id for an event, so that a retried event is recorded once and two events of
one kind in the same second (two purchases) are both kept; events without one are told apart, as before, by their
send, kind and moment

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

WITH_ID = sa.text("external_id IS NOT NULL")
WITHOUT_ID = sa.text("external_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.drop_constraint("uq_event", type_="unique")
    op.create_index(
        "uq_event_external_id", "events", ["send_id", "external_id"], unique=True,
        sqlite_where=WITH_ID, postgresql_where=WITH_ID,
    )  # fmt: skip
    op.create_index(
        "uq_event_moment", "events", ["send_id", "kind", "occurred_at"], unique=True,
        sqlite_where=WITHOUT_ID, postgresql_where=WITHOUT_ID,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_event_moment", table_name="events")
    op.drop_index("uq_event_external_id", table_name="events")
    # Events told apart only by their ids become one: the first of each send, kind and moment is kept.
    op.execute("DELETE FROM events WHERE id NOT IN (SELECT MIN(id) FROM events GROUP BY send_id, kind, occurred_at)")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("external_id")
        batch_op.create_unique_constraint("uq_event", ["send_id", "kind", "occurred_at"])

"""ids never reused: on SQLite, sends, drafts and variants take AUTOINCREMENT, so that the id of a deleted row (an
erased customer's send, a draft that a campaign's regeneration or deletion removed) is never given to another
row: an unsubscribe link, an event or a stale approval that names it then finds nothing rather than another
customer's email (PostgreSQL's sequences never gave an id twice). And erased_sends keeps the ids and Message-IDs
of the sends erased with their customer, no personal data, so that their late events are told apart from
events naming a send that never existed

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# Rebuilt in batch mode, which keeps their rows, constraints and indexes; the migrations run with SQLite's
# foreign keys off (service/db/migrations/env.py), so dropping the old table cascades to nothing.
NEVER_REUSED = ("drafts", "variants", "sends")


def upgrade() -> None:
    _rebuild(autoincrement=True)
    op.create_table(
        "erased_sends",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erased_sends_message_id", "erased_sends", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_erased_sends_message_id", table_name="erased_sends")
    op.drop_table("erased_sends")
    _rebuild(autoincrement=False)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in NEVER_REUSED:
        with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass

"""ids never reused: on SQLite, sends, drafts and variants take AUTOINCREMENT, so that the id of a deleted row (an
erased customer's send, a draft that a campaign's regeneration or deletion removed) is never given to another
row: an unsubscribe link, an event or a stale approval that names it then finds nothing rather than another
customer's email (PostgreSQL's sequences never gave an id twice)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 09:00:00
"""

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


def downgrade() -> None:
    _rebuild(autoincrement=False)


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in NEVER_REUSED:
        with op.batch_alter_table(name, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass

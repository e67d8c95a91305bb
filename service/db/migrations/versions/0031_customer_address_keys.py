"""address keys: each customer's address, and the address each send went to, as addresses are compared (NFC,
trimmed, lowercased in Python), stored; the customers' indexed. Comparing ``lower(email)`` in SQL read the whole
customers table on every unsubscribe (1.8 s for a million customers on SQLite, holding its write lock), and on a
PostgreSQL database of character type C lowered ASCII letters only, so ``Ольга@Пример.рф`` and
``ольга@пример.рф`` were two addresses. The contact policy read every recent send's address through ``lower()``
too (a Python function per row on SQLite).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-11 09:00:00
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

BATCH = 5_000


def _key(email: str | None) -> str:
    """As service.addresses.address_key had it at this revision (a migration does not follow later changes)."""
    return unicodedata.normalize("NFC", email or "").strip().lower()


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        # Text: lowering a letter may lengthen it (İ is two letters lowered), past the address's 320 characters.
        batch_op.add_column(sa.Column("email_key", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.add_column(sa.Column("to_email_key", sa.Text(), nullable=True))
    _fill_keys(op.get_bind(), "customers", "email", "email_key")
    _fill_keys(op.get_bind(), "sends", "to_email", "to_email_key")
    op.create_index("ix_customers_email_key", "customers", ["email_key"], unique=False)


def _fill_keys(connection: sa.Connection, table: str, column: str, key: str) -> None:
    """Each stored address's key, a batch of rows at a time (a big shop's do not fit in memory at once)."""
    rows_of = sa.table(
        table, sa.column("id", sa.Integer()), sa.column(column, sa.String()), sa.column(key, sa.String())
    )
    read = (
        sa.select(rows_of.c.id, rows_of.c[column]).where(rows_of.c[column].is_not(None)).order_by(rows_of.c.id)
        .limit(BATCH)
    )  # fmt: skip
    write = sa.update(rows_of).where(rows_of.c.id == sa.bindparam("row_id"))
    last = 0
    while rows := connection.execute(read.where(rows_of.c.id > last)).all():
        last = rows[-1].id
        connection.execute(write, [{"row_id": row.id, key: _key(row[1])} for row in rows])


def downgrade() -> None:
    op.drop_index("ix_customers_email_key", table_name="customers")
    with op.batch_alter_table("sends", schema=None) as batch_op:
        batch_op.drop_column("to_email_key")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("email_key")

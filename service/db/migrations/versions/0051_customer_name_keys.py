"""customer name keys: each customer's shown name (first name, else id) as the drafts' order by customer sorts it,
case folded and without accents in Python, stored, and compared byte by byte on either database (collation C on
PostgreSQL: service.db.name_keys). The order folded the name in SQL for every draft of the list: a
Python ``lower()`` per row on SQLite (37-60 ms of "next to review" on a 20,000-draft campaign), and on PostgreSQL
the database's own, which folds ASCII letters only for character type C and sorts by the locale's rules otherwise,
so SQLite and PostgreSQL listed the same drafts in different orders.

The keys are written with service.db.name_keys.name_key itself, as 0046 writes link keys: they are compared with the
keys the running service writes for customers imported later. A later version that changes the rules needs a
migration of its own writing every customer's key again.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from service.db.name_keys import NAME_KEY_TYPE, fill_name_keys

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A default of a constant: SQLite adds the column in place, without rebuilding the table (0049 says why).
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", NAME_KEY_TYPE, nullable=False, server_default=""))
    fill_name_keys(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("name_key")

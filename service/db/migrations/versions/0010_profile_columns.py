"""profile columns: the profile fields campaign rules and audience queries read, as columns of customers

Choosing an audience parsed every customer's profile JSON (about 1 KB each, half of it the reasons text) to read
a few numbers; these columns hold them, written by the audience refresh, and existing profiles are copied in.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 20:00:00
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# As the models had them at this revision (a migration does not follow later changes to the models).
COLUMNS = {
    "recency_days": sa.Integer(),
    "frequency": sa.Integer(),
    "monetary": sa.Float(),
    "churn_risk": sa.Float(),
    "clv": sa.Float(),
    "p_alive": sa.Float(),
    "next_purchase_date": sa.Date(),
    "cluster": sa.Integer(),
    "cluster_label": sa.Text(),
}
BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name, type_ in COLUMNS.items():
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    _copy_from_profiles(op.get_bind())


def _copy_from_profiles(connection: sa.Connection) -> None:
    """Fill the columns from each customer's profile, a batch of customers at a time (a big shop's profiles do
    not fit in memory at once); customers without a profile keep NULLs, as the refresh would write."""
    columns = [sa.column("id", sa.Integer()), sa.column("profile", sa.JSON())]
    columns += [sa.column(name, type_) for name, type_ in COLUMNS.items()]
    customers = sa.table("customers", *columns)
    read = sa.select(customers.c.id, customers.c.profile).order_by(customers.c.id).limit(BATCH)
    write = sa.update(customers).where(customers.c.id == sa.bindparam("customer_id"))  # SET: the rows' other keys
    last = 0
    while rows := connection.execute(read.where(customers.c.id > last)).all():
        last = rows[-1].id
        values = [
            {"customer_id": row.id, **{name: (row.profile or {}).get(name) for name in COLUMNS}}
            for row in rows
            if any((row.profile or {}).get(name) is not None for name in COLUMNS)
        ]
        for value in values:
            if value["next_purchase_date"] is not None:
                value["next_purchase_date"] = date.fromisoformat(value["next_purchase_date"][:10])
        if values:
            connection.execute(write, values)


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        for name in reversed(list(COLUMNS)):
            batch_op.drop_column(name)

"""product link keys: each product's address as a click's address is compared with it (generation.links.link_key),
digested and indexed (service.db.link_keys), so that a click on an imported send finds its product by index. Every
product with an address was read and keyed in Python on each events request holding such a click: 0.3 s a request
for 100,000 products, growing with the catalog. Null for a product without an address.

The keys are written with generation.links.link_key itself, not a copy of it: they are compared with the keys the
running service makes of clicks' addresses, so they must follow the rules of the version that runs, which a copy
frozen here would not (a database upgraded from an older revision by a later version would be keyed by this
revision's rules and its clicks by that version's). Should a later version change the rules so that an address a
catalog may hold keys otherwise, a database already past this revision keeps the old keys: that version needs a
migration of its own writing every product's digest again, as this one does.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-05 18:00:00
"""

import sqlalchemy as sa
from alembic import op

from service.db.link_keys import DIGEST_LENGTH, link_key_digest

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_key_digest", sa.String(length=DIGEST_LENGTH), nullable=True))
    _fill_digests(op.get_bind())
    op.create_index("ix_products_link_key_digest", "products", ["link_key_digest"], unique=False)


def _fill_digests(connection: sa.Connection) -> None:
    """Each stored product's digest, a batch of rows at a time (a big shop's do not fit in memory at once)."""
    products = sa.table(
        "products",
        sa.column("id", sa.Integer()),
        sa.column("url", sa.String()),
        sa.column("link_key_digest", sa.String()),
    )
    read = sa.select(products.c.id, products.c.url).where(products.c.url != "").order_by(products.c.id).limit(BATCH)
    write = sa.update(products).where(products.c.id == sa.bindparam("row_id"))
    last = 0
    while rows := connection.execute(read.where(products.c.id > last)).all():
        last = rows[-1].id
        connection.execute(write, [{"row_id": row.id, "link_key_digest": link_key_digest(row.url)} for row in rows])


def downgrade() -> None:
    op.drop_index("ix_products_link_key_digest", table_name="products")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("link_key_digest")

"""Customers' names as the review list sorts them ("customer, A to Z"), stored with each customer
(``Customer.name_key``) and compared byte by byte, so that the order is the same on SQLite and on PostgreSQL whatever
the database's locale.

The key is the name the campaign's page shows (the first name, else the customer id), its case folded
(``str.casefold``: "Émile" and "émile", "STRASSE" and "Straße", "Ольга" and "ольга" are one) and the accents the
combining diacritical marks block decomposes off Latin, Greek and Cyrillic letters left out, so that "Émile" sorts
among the E's, as a PostgreSQL of a UTF-8 locale sorted it, rather than after "Zoë". Folded in SQL, the order
depended on the database: ``lower()`` of a PostgreSQL of character type C folds ASCII letters only, one of a UTF-8
locale sorts by that locale's rules, and SQLite (a ``lower()`` in Python, per row) by code point.

The stored keys are this module's rules when each customer was written (migration 0051 for those stored before). A
change to the rules needs a migration that writes every customer's key again (``fill_name_keys``), or the customers
stored before sort apart from those written after.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa

from service.db.batches import pages_by_id

# Text (folding may lengthen a name: "ß" is "ss"), compared byte by byte on PostgreSQL too (collation C), as SQLite
# compares text, rather than by the rules of the database's locale.
NAME_KEY_TYPE = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
# The combining diacritical marks (U+0300-U+036F): the accents of Latin, Greek and Cyrillic letters once decomposed.
_ACCENTS = range(0x300, 0x370)


def name_key(first_name: str | None, external_id: str | None) -> str:
    """The sort key of a customer's shown name: their first name, else their id, case folded, without accents."""
    shown = unicodedata.normalize("NFKD", (first_name or external_id or "").casefold())
    return unicodedata.normalize("NFC", "".join(c for c in shown if ord(c) not in _ACCENTS)).strip()


def fill_name_keys(connection: sa.Connection, batch: int = 5_000) -> int:
    """Writes each stored customer's key by the rules that run, a batch of rows at a time (a big shop's do not fit in
    memory at once), each row only where its key changes; how many changed. Written for migrations: it reads the
    customers table as it is at any revision since 0051."""
    customers = sa.table(
        "customers",
        sa.column("id", sa.Integer()),
        sa.column("external_id", sa.String()),
        sa.column("first_name", sa.String()),
        sa.column("name_key", sa.Text()),
    )
    read = (
        sa.select(customers.c.id, customers.c.external_id, customers.c.first_name, customers.c.name_key)
        .order_by(customers.c.id)
        .limit(batch)
    )
    write = sa.update(customers).where(customers.c.id == sa.bindparam("row_id"))
    changed = 0
    for rows in pages_by_id(connection, read, customers.c.id):
        rewritten = [
            {"row_id": row.id, "name_key": key}
            for row in rows
            if (key := name_key(row.first_name, row.external_id)) != row.name_key
        ]
        if rewritten:
            connection.execute(write, rewritten)
        changed += len(rewritten)
    return changed

"""Products' addresses as a click's address finds them (generation.links.index_key: the link key with the path's
reserved characters read decoded), stored digested with each product (``Product.link_key_digest``), so that the
catalog's products a click may be on are found by index whatever the catalog's size; of those, the click is on the
ones whose address has its link key (generation.links.link_key, which tells `%3B` from `;`: service.events). The
index key stays as the link key was before it told them apart, so the digests stored before need no rewriting.

A digest, not the key: a key percent-encodes each letter of an address that is no ASCII, up to 12 characters for one
(an address of 1,000 characters, as an import takes, may have a key of 9,000), past what a PostgreSQL index entry
holds (2,704 bytes); a digest is 64 characters whatever the key.

The stored digests are the keys of ``index_key``'s rules when each product's address was written (migration 0046 for
those stored before, 0048 again when a host's spellings in another script came to key as one). A change to those
rules that changes the index key of an address a catalog may hold needs a migration that writes every product's
digest again (``rewrite_digests``, as 0048 does), or the products stored before are not found at the addresses the
new rules key otherwise; a change that tells apart addresses the index key makes one needs none, made in ``link_key``
alone."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from generation.links import index_key
from service.db.batches import pages_by_id

# The digest's length: SHA-256's, in hex.
DIGEST_LENGTH = 64


def key_digest(key: str) -> str:
    """The digest of an index key (``generation.links.index_key``'s)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def link_key_digest(url: str | None) -> str | None:
    """The digest of ``url``'s index key; None for no address (no click's address is empty)."""
    key = index_key(url or "")
    return key_digest(key) if key else None


def rewrite_digests(connection: sa.Connection, batch: int = 5_000) -> int:
    """Writes each stored product's digest again by the rules that run, a batch of rows at a time (a big shop's do
    not fit in memory at once), each row only where its digest changes (most of a catalog's do not); how many
    changed. Written for migrations: it reads the products table as it is at any revision since 0046."""
    products = sa.table(
        "products",
        sa.column("id", sa.Integer()),
        sa.column("url", sa.String()),
        sa.column("link_key_digest", sa.String()),
    )
    read = (
        sa.select(products.c.id, products.c.url, products.c.link_key_digest)
        .where(products.c.url != "")
        .order_by(products.c.id)
        .limit(batch)
    )
    write = sa.update(products).where(products.c.id == sa.bindparam("row_id"))
    changed = 0
    for rows in pages_by_id(connection, read, products.c.id):
        digests = {row.id: link_key_digest(row.url) for row in rows}
        rewritten = [{"row_id": row.id, "link_key_digest": digests[row.id]} for row in rows if
                     digests[row.id] != row.link_key_digest]  # fmt: skip
        if rewritten:
            connection.execute(write, rewritten)
        changed += len(rewritten)
    return changed
